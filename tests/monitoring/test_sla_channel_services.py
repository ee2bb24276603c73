"""The alert channels' services and reads for the channels page: supervisors and admins of the
organisation only, audited without the URL or secret, the address checked when saved, a test
alert sent now through the outbox with its outcome, each channel's health and the failing
ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import OutboxAction
from monitoring.models import AlertChannel, AuditEvent
from monitoring.services.sla_channels import (
    alert_channel_create,
    alert_channel_delete,
    alert_channel_test_send,
    alert_channel_update,
    alert_channels_for,
    channels_failing,
)
from scrm.api import Forbidden, NotFound, ServiceError
from tests.monitoring.channel_receiver import Receiver, channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def create(world, receiver: Receiver, **fields) -> AlertChannel:
    values = {
        "kind": "feishu",
        "name": "Ops group",
        "target": f"{receiver.base}/open-apis/bot/v2/hook/SECRET-TOKEN",
        "secret": "bot-secret",
    }
    return alert_channel_create(actor=world.supervisor_a, **{**values, **fields})


def test_a_supervisor_creates_a_channel_audited_without_its_url_or_secret(world, receiver):
    made = create(world, receiver, shop_account_id=world.shop_a2.id, alert_kinds=["breach"])
    assert made.organisation_id == world.org_a.id
    assert made.shop_account_id == world.shop_a2.id
    assert made.alert_kinds == ["breach"]
    event = AuditEvent.objects.get(action="sla_channel.created")
    assert event.target_id == str(made.id)
    assert "SECRET-TOKEN" not in repr(event.data) and "bot-secret" not in repr(event.data)


def test_only_supervisors_and_admins_of_the_organisation_manage_channels(world, receiver):
    with pytest.raises(Forbidden):
        alert_channel_create(
            actor=world.agent_a1, kind="slack", name="x", target=f"{receiver.base}/x"
        )
    made = create(world, receiver)
    # Another organisation's supervisor: not found, whatever they try
    for attempt in (
        lambda: alert_channel_update(actor=world.supervisor_b, channel_id=made.id, name="y"),
        lambda: alert_channel_delete(actor=world.supervisor_b, channel_id=made.id),
        lambda: alert_channel_test_send(actor=world.supervisor_b, channel_id=made.id),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert [row.id for row in alert_channels_for(world.supervisor_b)] == []
    # A shop of another organisation cannot be named
    with pytest.raises(NotFound):
        create(world, receiver, shop_account_id=world.shop_b1.id)


def test_a_refused_address_or_bad_kinds_are_not_saved(world, receiver, settings):
    with pytest.raises(ServiceError):
        create(world, receiver, target="https://169.254.169.254/latest/meta-data/")
    with pytest.raises(ServiceError):
        create(world, receiver, alert_kinds=["nonsense"])
    made = create(world, receiver)
    with pytest.raises(ServiceError):
        alert_channel_update(
            actor=world.supervisor_a, channel_id=made.id, target="https://10.1.2.3/hook"
        )
    assert AlertChannel.objects.count() == 1


def test_an_update_changes_what_is_given_and_a_new_address_starts_afresh(world, receiver):
    made = create(world, receiver, shop_account_id=world.shop_a1.id)
    AlertChannel.objects.filter(id=made.id).update(consecutive_failures=5)
    changed = alert_channel_update(
        actor=world.supervisor_a,
        channel_id=made.id,
        target=f"{receiver.base}/open-apis/bot/v2/hook/NEW",
        shop_account_id=None,
    )
    assert changed.shop_account_id is None
    assert changed.secret == "bot-secret"  # unchanged when not given
    assert changed.consecutive_failures == 0
    event = AuditEvent.objects.get(action="sla_channel.updated")
    assert event.data["fields"] == ["target", "shop_account"]
    alert_channel_delete(actor=world.supervisor_a, channel_id=made.id)
    assert not AlertChannel.objects.exists()
    assert AuditEvent.objects.filter(action="sla_channel.deleted").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_test_alert_is_sent_now_and_reports_success(world, receiver: Receiver):
    made = create(world, receiver)
    receiver.on("/open-apis/bot/v2/hook/SECRET-TOKEN", (200, {"code": 0, "msg": "success"}))
    outcome = alert_channel_test_send(actor=world.supervisor_a, channel_id=made.id)
    assert outcome.state == "sent"
    (post,) = receiver.received
    assert "test" in post.body.decode().lower()
    made.refresh_from_db()
    assert made.last_success_at is not None
    assert AuditEvent.objects.filter(action="sla_channel.test_sent").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_test_alert_reports_why_after_one_attempt(world, receiver: Receiver):
    made = create(world, receiver, kind="slack", secret="")
    receiver.on("/open-apis/bot/v2/hook/SECRET-TOKEN", (500, {}), (500, {}))
    outcome = alert_channel_test_send(actor=world.supervisor_a, channel_id=made.id)
    assert outcome.state == "failed"
    assert "HTTP 500" in outcome.reason
    assert len(receiver.received) == 1  # a test is not retried
    action = OutboxAction.objects.get(id=outcome.action_id)
    assert list(action.attempts.values_list("outcome", flat=True)) == ["failed"]
    made.refresh_from_db()
    assert made.consecutive_failures == 1


def test_channels_with_their_health_and_the_failing_ones(world, receiver):
    now = timezone.now()
    ok = channel(world.shop_a1, "slack", "https://hooks.slack.com/services/T/B/TOKEN")
    many = channel(world.shop_a1, "webhook", "https://example.com/x", consecutive_failures=3)
    recent = channel(
        world.shop_a1,
        "dingtalk",
        "https://oapi.dingtalk.com/robot/send?access_token=TOKEN",
        consecutive_failures=1,
        last_success_at=now - timedelta(hours=3),
        last_failure_at=now - timedelta(hours=1),
        last_failure_reason="DingTalk refused the message (code 310000): sign not match",
    )
    channel(  # failed once, a day and more ago, then nothing: not failing
        world.shop_a1,
        "feishu",
        "https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN",
        consecutive_failures=1,
        last_failure_at=now - timedelta(hours=25),
    )
    channel(
        world.shop_a1, "webhook", "https://example.com/y", consecutive_failures=9, is_active=False
    )
    channel(world.shop_b1, "webhook", "https://example.com/z", consecutive_failures=9)
    assert {c.id for c in channels_failing(world.org_a.id, now=now)} == {many.id, recent.id}
    rows = {row.id: row for row in alert_channels_for(world.supervisor_a, now=now)}
    assert len(rows) == 5
    assert {i for i, row in rows.items() if row.failing} == {many.id, recent.id}
    assert rows[ok.id].target_hint == "https://hooks.slack.com/…"
    assert all("TOKEN" not in row.target_hint for row in rows.values())
    assert "310000" in rows[recent.id].last_failure_reason
    with pytest.raises(Forbidden):
        alert_channels_for(world.agent_a1)
