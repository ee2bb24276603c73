"""The alert channels page (/sla/channels/): the list with each channel's health (a failing one
highlighted, and a banner on the supervisors' pages), add, edit (URL and secret kept unless
retyped, never shown), delete, send a test alert and see how it went; agents and other
organisations get a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.models import AlertChannel, AuditEvent
from tests.monitoring.channel_receiver import Receiver, channel

pytestmark = pytest.mark.django_db

SECRET_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/tok-SECRETTOKEN-abcd"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def failing(shop) -> AlertChannel:
    """A Feishu channel whose last four deliveries failed."""
    made = channel(
        shop,
        "feishu",
        SECRET_URL,
        secret="SIGNSECRET99",
        consecutive_failures=4,
        last_failure_at=timezone.now() - timedelta(minutes=5),
        last_failure_reason="HTTP 500 from the endpoint",
        last_success_at=timezone.now() - timedelta(days=2),
    )
    made.name = "Ops Feishu"
    made.save(update_fields=["name"])
    return made


def test_the_list_shows_health_highlights_the_failing_and_never_the_token(world):
    # Given a failing Feishu channel and a working e-mail channel of organisation A
    bad = failing(world.shop_a1)
    good = channel(
        world.shop_a1,
        "email",
        "ops@example.com",
        last_success_at=timezone.now(),
        shop_account=world.shop_a2,
    )
    # When the supervisor opens the page
    html = signed_in(world.supervisor_a).get("/sla/channels/").content.decode()
    # Then each channel is listed with its health; the failing one highlighted, with its reason
    assert f'data-channel="{bad.id}" data-failing="1" class="is-failing"' in html
    assert f'data-channel="{good.id}" data-failing="0"' in html
    assert "HTTP 500 from the endpoint" in html and "4 failures in a row" in html
    assert "ops@example.com" in html and "A2 UK" in html
    # And the URL's token and the secret are never on the page, only the host
    assert "SECRETTOKEN" not in html and "SIGNSECRET" not in html
    assert "https://open.feishu.cn/…" in html
    # And a banner says a channel is failing, here and on the team page
    assert 'id="sla-channels-failing"' in html
    team = signed_in(world.supervisor_a).get("/inbox/team/").content.decode()
    assert 'id="sla-channels-failing"' in team and "Ops Feishu" in team


def test_no_banner_when_every_channel_works(world):
    channel(world.shop_a1, "email", "ops@example.com", last_success_at=timezone.now())
    html = signed_in(world.supervisor_a).get("/inbox/team/").content.decode()
    assert "sla-channels-failing" not in html


def test_add_a_channel_and_a_refused_address_says_why(world):
    client = signed_in(world.supervisor_a)
    # A webhook to a private address is refused with the reason, nothing saved
    refused = client.post(
        "/sla/channels/add/",
        {
            "name": "Hook",
            "kind": "webhook",
            "target": "http://10.0.0.5/hook",
            "alert_kinds": ["breach"],
            "is_active": "on",
        },
    )
    assert refused.status_code == 400
    assert 'id="sla-error"' in refused.content.decode()
    assert not AlertChannel.objects.exists()
    # A Slack webhook for shop a1's breaches is saved
    done = client.post(
        "/sla/channels/add/",
        {
            "name": "Slack breaches",
            "kind": "email",
            "target": "ops@example.com, lead@example.com",
            "shop_account": str(world.shop_a1.id),
            "alert_kinds": ["breach", "digest"],
            "is_active": "on",
        },
    )
    assert done.status_code == 302
    saved = AlertChannel.objects.get()
    assert (saved.name, saved.kind, saved.shop_account_id) == (
        "Slack breaches",
        "email",
        world.shop_a1.id,
    )
    assert saved.alert_kinds == ["breach", "digest"] and saved.is_active
    assert AuditEvent.objects.filter(action="sla_channel.created").exists()


def test_edit_keeps_the_url_and_secret_unless_retyped(world):
    hook = channel(world.shop_a1, "feishu", SECRET_URL, secret="SIGNSECRET99")
    client = signed_in(world.supervisor_a)
    form = client.get(f"/sla/channels/{hook.id}/").content.decode()
    assert "SECRETTOKEN" not in form and "SIGNSECRET" not in form
    assert 'id="ch-secret-now"' in form
    # Renamed and turned off, the URL and secret left empty
    response = client.post(
        f"/sla/channels/{hook.id}/",
        {"name": "Renamed", "target": "", "secret": "", "alert_kinds": ["warning"]},
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.is_active, hook.alert_kinds) == ("Renamed", False, ["warning"])
    assert (hook.target, hook.secret) == (SECRET_URL, "SIGNSECRET99")
    # A new secret typed replaces it
    client.post(
        f"/sla/channels/{hook.id}/",
        {"name": "Renamed", "secret": "NEWSECRET", "alert_kinds": ["warning"], "is_active": "on"},
    )
    hook.refresh_from_db()
    assert (hook.target, hook.secret, hook.is_active) == (SECRET_URL, "NEWSECRET", True)


def test_delete_asks_then_deletes(world):
    hook = channel(world.shop_a1, "email", "ops@example.com")
    client = signed_in(world.supervisor_a)
    assert (
        "channel-delete-confirm" in client.get(f"/sla/channels/{hook.id}/delete/").content.decode()
    )
    assert client.post(f"/sla/channels/{hook.id}/delete/").status_code == 302
    assert not AlertChannel.objects.filter(id=hook.id).exists()


@pytest.mark.django_db(transaction=True)
def test_send_a_test_alert_shows_the_outcome(world, receiver: Receiver):
    # Given a JSON webhook on the local receiver, which accepts the first and refuses the second
    hook = channel(world.shop_a1, "webhook", f"{receiver.base}/hook", secret="k")
    receiver.on("/hook", (200, {}), (500, {"error": "down"}))
    client = signed_in(world.supervisor_a)
    # When the supervisor sends a test alert
    page = client.post(f"/sla/channels/{hook.id}/test/", follow=True).content.decode()
    # Then it reached the receiver and the page says so
    assert len(receiver.at("/hook")) == 1
    assert "Test alert sent to webhook channel." in page
    # And a second one, refused, shows the failure and the channel's health
    page = client.post(f"/sla/channels/{hook.id}/test/", follow=True).content.decode()
    assert 'data-level="error"' in page and "failed" in page
    hook.refresh_from_db()
    assert hook.last_failure_at is not None


def test_agents_and_other_organisations_get_404(world):
    hook = channel(world.shop_a1, "email", "ops@example.com")
    for user in (world.agent_a1, world.supervisor_b):
        client = signed_in(user)
        for url in (
            f"/sla/channels/{hook.id}/",
            f"/sla/channels/{hook.id}/delete/",
            f"/sla/channels/{hook.id}/test/",
        ):
            assert client.get(url).status_code == 404, (user, url)
            assert client.post(url, {"name": "x"}).status_code == 404, (user, url)
    assert signed_in(world.agent_a1).get("/sla/channels/").status_code == 404
    assert signed_in(world.agent_a1).get("/sla/channels/add/").status_code == 404
    other = signed_in(world.supervisor_b).get("/sla/channels/").content.decode()
    assert "ops@example.com" not in other
    assert AlertChannel.objects.filter(id=hook.id, name="email channel").exists()


def test_a_deactivated_supervisor_goes_to_sign_in(world):
    client = signed_in(world.supervisor_a)
    world.supervisor_a.is_active = False
    world.supervisor_a.save()
    response = client.get("/sla/channels/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_list_query_count_is_flat(world, django_assert_max_num_queries):
    client = signed_in(world.supervisor_a)
    for i in range(2):
        channel(world.shop_a1, "email", f"ops{i}@example.com")
    with django_assert_max_num_queries(12) as few:
        client.get("/sla/channels/")
    for i in range(8):
        channel(world.shop_a1, "email", f"more{i}@example.com", shop_account=world.shop_a2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/sla/channels/")
