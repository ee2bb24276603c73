"""Shop accounts, managed by admins (inbox.services.shop_accounts) against the TikTok Shop
simulator: connect, edit, disconnect (soft), and the health supervisors read."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import (
    AssignmentMode,
    Conversation,
    Message,
    OutboxAction,
    ShopAccount,
    SyncCursor,
    WebhookEvent,
)
from inbox.platforms.tiktok_shop.signing import webhook_signature
from inbox.selectors import conversation_list
from inbox.selectors.conversations import QueueFilters
from inbox.selectors.shop_health import shop_health_get, shop_health_list
from inbox.services.conversations import conversation_mark_read
from inbox.services.replies import message_send, reply_action_id
from inbox.services.shop_accounts import (
    shop_account_connect,
    shop_account_disconnect,
    shop_account_update,
)
from inbox.services.webhooks import WebhookRejected, webhook_receive
from inbox.tasks import backfill_all_shops, backfill_shop, deliver_outbox_action
from monitoring.models import AuditEvent
from scrm.api import Forbidden, NotFound, ServiceError
from tests.factories import ShopAccountFactory, make_person
from tests.inbox.builders import conversation_with_messages, pending_reply
from tests.inbox.platform_world import APP_KEY, APP_SECRET, start_platform

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def sim(settings):
    p = start_platform(settings)
    yield p.sim
    p.server.stop()
    p.sim.close()


def connect(admin, sim, shop_ids, **kwargs):
    code = sim.issue_auth_code(APP_KEY, shop_ids)
    return shop_account_connect(
        actor=admin,
        app_key=kwargs.get("app_key", APP_KEY),
        app_secret=kwargs.get("app_secret", APP_SECRET),
        auth_code=kwargs.get("auth_code", code),
    )


def test_an_admin_connects_every_authorised_shop(
    world, admin, sim, django_capture_on_commit_callbacks
):
    # Given a seller who authorised two shops on TikTok Shop, one with a buyer waiting
    sim.add_shop(APP_KEY, shop_id="9001", name="Seller US", region="US")
    sim.add_shop(APP_KEY, shop_id="9002", name="Seller TH", region="TH")
    sim.buyer_message("9001", buyer_user_id="b-1", nickname="Emily", text="Where is my parcel?")

    # When the admin connects them with the authorisation code
    with django_capture_on_commit_callbacks(execute=True):
        shops = connect(admin, sim, ["9001", "9002"])

    # Then both belong to the admin's organisation, with their region's time zone, audited by
    # the admin; the first backfill ran at once and brought the waiting buyer in
    assert {s.platform_shop_id for s in shops} == {"9001", "9002"}
    thai = ShopAccount.objects.get(platform_shop_id="9002")
    assert thai.organisation_id == world.org_a.id and thai.time_zone == "Asia/Bangkok"
    events = AuditEvent.objects.filter(action="shop_account.onboarded")
    assert {e.actor_id for e in events} == {admin.pk} and events.count() == 2
    us = ShopAccount.objects.get(platform_shop_id="9001")
    assert Conversation.objects.filter(shop_account=us).count() == 1
    assert SyncCursor.objects.get(shop_account=us, stream="messages").last_run_at is not None


def test_a_refused_code_writes_nothing(world, admin, sim):
    sim.add_shop(APP_KEY, shop_id="9003", name="Seller GB", region="GB")
    with pytest.raises(ServiceError) as refused:
        connect(admin, sim, ["9003"], auth_code="SIMAC_not-a-real-code")
    assert refused.value.code == "platform_refused" and refused.value.status_code == 400
    with pytest.raises(ServiceError) as wrong_secret:
        connect(admin, sim, ["9003"], app_secret="not-the-secret")
    assert wrong_secret.value.code == "platform_refused"
    assert not ShopAccount.objects.filter(platform_shop_id="9003").exists()
    assert not AuditEvent.objects.filter(action="shop_account.onboarded").exists()


def test_empty_or_odd_credentials_are_a_400_before_any_call(world, admin):
    for bad in ("", "  ", "a\x00b", "点" * 3, "x" * 501):
        with pytest.raises(ServiceError) as refused:
            shop_account_connect(actor=admin, app_key=bad, app_secret="s", auth_code="c")
        assert refused.value.code == "invalid_credentials"


def test_a_shop_of_another_organisation_is_not_moved(world, admin, sim):
    sim.add_shop(APP_KEY, shop_id=world.shop_b1.platform_shop_id, name="B", region="US")
    with pytest.raises(ServiceError) as refused:
        connect(admin, sim, [world.shop_b1.platform_shop_id])
    assert refused.value.code == "onboarding_refused" and refused.value.status_code == 409
    world.shop_b1.refresh_from_db()
    assert world.shop_b1.organisation_id == world.org_b.id


def test_only_admins_connect(world, sim):
    sim.add_shop(APP_KEY, shop_id="9004", name="S", region="US")
    for who in (world.supervisor_a, world.agent_a1):
        with pytest.raises(Forbidden):
            connect(who, sim, ["9004"])
    assert not ShopAccount.objects.filter(platform_shop_id="9004").exists()


def test_an_admin_edits_name_time_zone_and_assignment_audited(world, admin):
    shop_account_update(
        actor=admin,
        shop_account_id=world.shop_a1.id,
        name="  A1   United States ",
        time_zone="America/New_York",
        assignment_mode=AssignmentMode.ROUND_ROBIN,
    )
    world.shop_a1.refresh_from_db()
    assert world.shop_a1.name == "A1 United States"
    assert world.shop_a1.time_zone == "America/New_York"
    assert world.shop_a1.assignment_mode == "round_robin"
    event = AuditEvent.objects.get(action="shop_account.updated")
    assert event.actor_id == admin.pk
    assert event.data["changed"]["time_zone"] == {
        "from": "America/Los_Angeles",
        "to": "America/New_York",
    }
    # Saving the same again writes nothing
    shop_account_update(
        actor=admin,
        shop_account_id=world.shop_a1.id,
        name="A1 United States",
        time_zone="America/New_York",
        assignment_mode="round_robin",
    )
    assert AuditEvent.objects.filter(action="shop_account.updated").count() == 1


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("time_zone", "Mars/Olympus", "invalid_time_zone"),
        ("time_zone", "", "invalid_time_zone"),
        ("name", "", "invalid_name"),
        ("name", "x" * 201, "invalid_name"),
        ("name", "a\x00b", "invalid_name"),
        ("assignment_mode", "random", "invalid_assignment"),
    ],
)
def test_bad_settings_are_a_400_and_change_nothing(world, admin, field, value, code):
    values = {"name": "A1", "time_zone": "UTC", "assignment_mode": "manual", field: value}
    with pytest.raises(ServiceError) as refused:
        shop_account_update(actor=admin, shop_account_id=world.shop_a1.id, **values)
    assert refused.value.code == code and refused.value.status_code == 400
    world.shop_a1.refresh_from_db()
    assert world.shop_a1.name == "A1 US"


def test_shops_of_another_organisation_or_by_non_admins_are_refused(world, admin):
    values = {"name": "X", "time_zone": "UTC", "assignment_mode": "manual"}
    with pytest.raises(NotFound):
        shop_account_update(actor=admin, shop_account_id=world.shop_b1.id, **values)
    with pytest.raises(NotFound):
        shop_account_disconnect(actor=admin, shop_account_id=world.shop_b1.id)
    with pytest.raises(Forbidden):
        shop_account_update(actor=world.supervisor_a, shop_account_id=world.shop_a1.id, **values)
    with pytest.raises(Forbidden):
        shop_account_disconnect(actor=world.supervisor_a, shop_account_id=world.shop_a1.id)
    world.shop_b1.refresh_from_db()
    assert world.shop_b1.is_active and world.shop_b1.name == "B1 US"


def _signed_notification(sim, shop_id: str) -> tuple[dict[str, str], bytes]:
    sim.subscribe(shop_id, "NEW_MESSAGE", "http://127.0.0.1:9/webhooks/tiktok/")
    sim.buyer_message(shop_id, buyer_user_id="b-9", nickname="Late", text="still there?")
    with sim.lock:
        batch, sim.outbox = sim.outbox, []
    body = next(n.body for n in batch if json.loads(n.body)["type"] == 14)
    return {"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)}, body


def test_disconnecting_stops_sync_and_webhooks_and_keeps_history(
    world, admin, sim, django_capture_on_commit_callbacks
):
    # Given a connected shop with a conversation
    sim.add_shop(APP_KEY, shop_id="9005", name="Seller MY", region="MY")
    with django_capture_on_commit_callbacks(execute=True):
        (shop,) = connect(admin, sim, ["9005"])
    conversation_with_messages(shop, buyer="Old buyer", texts=("an old question",))
    agent = make_person(world.org_a, shops=[shop])
    waiting = pending_reply(
        Conversation.objects.get(shop_account=shop), "on its way", key="before-disconnect"
    )

    # When the admin disconnects it
    with django_capture_on_commit_callbacks(execute=True):
        shop_account_disconnect(actor=admin, shop_account_id=shop.id)
        shop_account_disconnect(actor=admin, shop_account_id=shop.id)  # twice: once audited

    # Then it is inactive, audited once; the periodic backfill skips it; its webhooks are
    # refused; its history is still there for its agent
    shop.refresh_from_db()
    assert not shop.is_active
    assert AuditEvent.objects.filter(action="shop_account.disconnected").count() == 1
    assert backfill_all_shops() == ShopAccount.objects.filter(is_active=True).count()
    headers, body = _signed_notification(sim, "9005")
    with pytest.raises(WebhookRejected) as rejected:
        webhook_receive(platform="tiktok_shop", headers=headers, body=body)
    assert rejected.value.status == 401
    assert not WebhookEvent.objects.filter(shop_account=shop).exists()
    history = conversation_list(agent, QueueFilters(statuses=()))
    assert history.filter(shop_account=shop).count() == 1
    # and a backfill queued before the disconnect reads nothing from the platform
    calls = sum(sim.api_calls.values())
    assert backfill_shop(shop.id) == 0
    assert sum(sim.api_calls.values()) == calls
    # and a reply to it is refused with a reason, storing nothing
    conversation = history.get(shop_account=shop)
    before = Message.objects.filter(conversation=conversation).count()
    with pytest.raises(ServiceError) as refused:
        message_send(actor=agent, conversation_id=conversation.id, text="hello?")
    assert refused.value.code == "shop_disconnected"
    assert refused.value.status_code == 409
    assert Message.objects.filter(conversation=conversation).count() == before
    # and a reply still waiting from before fails visibly, without a platform call, at once
    deliver_outbox_action(reply_action_id(waiting.id))
    waiting.refresh_from_db()
    assert waiting.delivery_state == "failed"
    assert "disconnected" in waiting.failure_reason
    assert sum(sim.api_calls.values()) == calls
    # and reading one of its conversations changes the read state here only
    conversation_mark_read(actor=agent, conversation_id=conversation.id)
    assert not OutboxAction.objects.filter(kind="mark_read", conversation=conversation).exists()

    # When the seller authorises it again and the admin connects it, it is active again
    connect(admin, sim, ["9005"])
    shop.refresh_from_db()
    assert shop.is_active
    assert AuditEvent.objects.filter(
        action="shop_account.onboarded", data__reactivated=True
    ).exists()


def test_health_shows_webhooks_sync_and_failed_platform_actions(
    world, admin, django_assert_max_num_queries
):
    # Given shop a1 with a recent webhook, a failed one, a failing stream, a reply and a
    # mark-read the outbox gave up on
    now = timezone.now()
    for n, status in enumerate(["processed", "failed"]):
        WebhookEvent.objects.create(
            platform="tiktok_shop",
            notification_id=f"n-{n}",
            shop_account=world.shop_a1,
            type_code=14,
            kind="new_message",
            body="{}",
            status=status,
        )
    SyncCursor.objects.create(
        shop_account=world.shop_a1, stream="messages", last_run_at=now, last_error=""
    )
    SyncCursor.objects.create(
        shop_account=world.shop_a1, stream="returns", last_run_at=now, last_error="AuthExpired"
    )
    conversation = conversation_with_messages(world.shop_a1, texts=("hello",))
    pending_reply(conversation, "answer", key="k-1", author=world.agent_a1)
    OutboxAction.objects.filter(shop_account=world.shop_a1).update(state="failed")
    OutboxAction.objects.create(
        kind="mark_read",
        organisation=world.org_a,
        shop_account=world.shop_a1,
        conversation=conversation,
        state="failed",
    )
    for _ in range(5):  # more shops cost no more queries
        ShopAccountFactory(organisation=world.org_a)

    # When a supervisor reads the shop accounts
    with django_assert_max_num_queries(6):
        rows = shop_health_list(world.supervisor_a)

    # Then every shop of A is there, none of B, and a1 says what failed
    assert world.shop_b1.id not in {r.shop.id for r in rows} and len(rows) == 3 + 5
    a1 = next(r for r in rows if r.shop.id == world.shop_a1.id)
    assert a1.last_webhook_at is not None and a1.webhooks_failed == 1
    assert a1.actions_failed == {"reply": 1, "mark_read": 1}
    streams = {s.stream: s for s in a1.streams}
    assert streams["messages"].ok and not streams["returns"].ok
    assert a1.state == "attention"
    # A shop never heard from shows its messages stream as not run yet
    a2 = next(r for r in rows if r.shop.id == world.shop_a2.id)
    assert [(s.stream, s.last_run_at) for s in a2.streams] == [("messages", None)]
    assert a2.last_webhook_at is None


def test_failures_older_than_the_window_are_not_counted(world):
    event = WebhookEvent.objects.create(
        platform="tiktok_shop",
        notification_id="old",
        shop_account=world.shop_a1,
        type_code=14,
        kind="new_message",
        body="{}",
        status="failed",
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(days=8))
    health = shop_health_get(world.supervisor_a, world.shop_a1.id)
    assert health.webhooks_failed == 0 and health.last_webhook_at is not None


def test_agents_do_not_read_shop_health_and_nobody_reads_another_organisations(world):
    with pytest.raises(Forbidden):
        shop_health_list(world.agent_a1)
    with pytest.raises(Forbidden):
        shop_health_get(world.agent_a1, world.shop_a1.id)
    with pytest.raises(NotFound):
        shop_health_get(world.supervisor_a, world.shop_b1.id)
