"""The SSRF guard on alert webhooks (scrm/outbound.py): refused when a channel is saved
(``channel_target_check``) and again when an alert is sent, on the address actually connected
to; a refused delivery fails at once with its reason, and nothing reaches the address."""

from __future__ import annotations

import pytest
from django.db import transaction

from inbox.models import OutboxAction
from monitoring.services.sla_channels import channel_target_check
from monitoring.sla.channels import SLA_ALERT_DELIVERY, alert_deliveries_enqueue
from scrm.api import ServiceError
from scrm.outbound import address_problem
from tests.monitoring.channel_receiver import Receiver, alert_for, channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fd00::1]/hook", "private"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
        ("http://example.com/hook", "https://"),
        ("ftp://example.com/hook", "https://"),
        ("https://user:pw@example.com/hook", "valid URL"),
    ],
)
def test_a_channel_pointing_inside_is_refused_when_saved(settings, url, words):
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    with pytest.raises(ServiceError) as refused:
        channel_target_check("webhook", url)
    assert refused.value.code == "invalid_target"
    assert words in refused.value.message


def test_a_name_resolving_to_loopback_is_refused_unless_allow_listed(settings, receiver):
    port = receiver.base.rsplit(":", 1)[1]
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    with pytest.raises(ServiceError) as refused:
        channel_target_check("slack", f"https://localhost:{port}/hook")
    assert "localhost resolves to 127.0.0.1" in refused.value.message
    # The allow-listed host (the tests' receiver) may be called, even over http
    channel_target_check("slack", f"http://127.0.0.1:{port}/hook")
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = ["localhost"]
    channel_target_check("slack", f"http://localhost:{port}/hook")


def test_email_channels_take_addresses_only():
    channel_target_check("email", "ops@example.com, lead@example.com")
    for bad in ("", "not-an-address", "ops@example.com, nope"):
        with pytest.raises(ServiceError):
            channel_target_check("email", bad)


def test_public_addresses_are_callable():
    assert address_problem("8.8.8.8") is None
    assert address_problem("2606:4700:4700::1111") is None
    assert address_problem("100.64.0.1") == "not public"  # carrier-grade NAT


def _send_now(alert) -> OutboxAction:
    with transaction.atomic():
        (delivery,) = alert_deliveries_enqueue(alert=alert)
    return OutboxAction.objects.get(kind=SLA_ALERT_DELIVERY, subject_id=delivery.id)


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.2/hook", "only https"),
    ],
)
def test_a_delivery_to_a_refused_address_fails_at_once(
    world, receiver: Receiver, django_capture_on_commit_callbacks, target, words
):
    # Given a channel stored with an address the guard refuses (saved before a rule changed)
    hook = channel(world.shop_a1, "webhook", target)
    # When an alert goes to it
    with django_capture_on_commit_callbacks(execute=True):
        action = _send_now(alert_for(world.shop_a1))
    # Then the delivery failed at once, with the reason, and counts on the channel
    action.refresh_from_db()
    assert action.state == "failed"
    assert words in action.failure_reason
    assert list(action.attempts.values_list("outcome", flat=True)) == ["failed"]
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1
    assert words in hook.last_failure_reason


def test_a_name_that_resolves_inside_at_sending_time_is_refused_at_the_connection(
    world, receiver: Receiver, django_capture_on_commit_callbacks
):
    # Given an https URL whose name resolves to the receiver's loopback address, not allowed
    # (as a name that passed the check when saved and was re-pointed afterwards would)
    port = receiver.base.rsplit(":", 1)[1]
    channel(world.shop_a1, "slack", f"https://localhost:{port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        action = _send_now(alert_for(world.shop_a1))
    # Then nothing reached it and the delivery failed with the reason
    action.refresh_from_db()
    assert action.state == "failed"
    assert "localhost resolves to 127.0.0.1, a loopback address" in action.failure_reason
    assert receiver.received == []


def test_redirects_are_not_followed(world, receiver: Receiver, django_capture_on_commit_callbacks):
    channel(world.shop_a1, "webhook", f"{receiver.base}/moved")
    receiver.on("/moved", (302, b""))
    with django_capture_on_commit_callbacks(execute=True):
        action = _send_now(alert_for(world.shop_a1))
    action.refresh_from_db()
    assert action.state == "failed"
    assert "redirects are not followed" in action.failure_reason
    assert [r.path for r in receiver.received] == ["/moved"]
