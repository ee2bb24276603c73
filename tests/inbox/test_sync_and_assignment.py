"""Periodic backfill through the real scheduler, auto-assignment, read receipts, token refresh
and deauthorisation, all against the simulator over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from inbox.models import (
    AgentPresence,
    AssignmentMode,
    Conversation,
    Message,
    Role,
    ShopAccount,
    SyncCursor,
    SyncStream,
)
from inbox.platforms.base import Credentials
from inbox.platforms.tiktok_shop.signing import webhook_signature
from inbox.services.ingestion import shop_api
from monitoring.models import AuditEvent
from scrm.scheduler import Scheduler
from tests.factories import make_person
from tests.inbox.builders import pending_reply
from tests.inbox.platform_world import APP_KEY, APP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def test_scheduler_backfill_recovers_messages_whose_webhooks_were_lost(world, platform):
    sim = platform.sim
    for i in range(25):  # more than one page of conversations (20)
        sim.buyer_message(
            world.shop_a1.platform_shop_id,
            buyer_user_id=f"lost{i}",
            nickname=f"Lost {i}",
            text=f"question {i}",
        )
    sim.deliver_webhooks(drop=1.0)  # every notification lost
    assert Message.objects.count() == 0
    # When the in-process scheduler (the embedded stand-in for celery beat) runs its jobs
    ran = Scheduler(settings.SCRM_PERIODIC_TASKS).tick()
    assert "inbox.tasks.backfill_all_shops" in ran
    # Then every message is stored, once, and the cursor moved
    assert set(Message.objects.values_list("platform_message_id", flat=True)) == (
        sim.all_buyer_message_ids(world.shop_a1.platform_shop_id)
    )
    cursor = SyncCursor.objects.get(shop_account=world.shop_a1, stream=SyncStream.MESSAGES)
    assert cursor.high_water is not None and cursor.last_error == ""
    # A second run finds nothing new and stores nothing twice
    Scheduler(settings.SCRM_PERIODIC_TASKS).tick()
    assert Message.objects.count() == 25


def _online(user):
    AgentPresence.objects.update_or_create(
        user=user, defaults={"connections": 1, "last_seen_at": timezone.now()}
    )


def test_round_robin_among_online_agents(world, platform):
    shop = world.shop_a1
    ShopAccount.objects.filter(pk=shop.pk).update(assignment_mode=AssignmentMode.ROUND_ROBIN)
    second = make_person(world.org_a, Role.AGENT, [shop], username="second")
    offline = make_person(world.org_a, Role.AGENT, [shop], username="offline")
    _online(world.agent_a1)
    _online(second)
    for i in range(4):
        platform.sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=f"rr{i}", nickname="RR", text="hi"
        )
        platform.sim.deliver_webhooks()
    assignees = list(
        Conversation.objects.filter(shop_account=shop)
        .order_by("id")
        .values_list("assignee_id", flat=True)
    )
    assert assignees == [world.agent_a1.id, second.id, world.agent_a1.id, second.id]
    assert offline.id not in assignees
    assert AuditEvent.objects.filter(action="conversation.auto_assigned").count() == 4


def test_least_open_prefers_the_least_loaded_agent(world, platform):
    shop = world.shop_a1
    ShopAccount.objects.filter(pk=shop.pk).update(assignment_mode=AssignmentMode.LEAST_OPEN)
    busy, idle = world.agent_a1, make_person(world.org_a, Role.AGENT, [shop], username="idle")
    _online(busy)
    _online(idle)
    platform.sim.buyer_message(shop.platform_shop_id, buyer_user_id="x1", nickname="A", text="1")
    platform.sim.deliver_webhooks()
    Conversation.objects.update(assignee=busy)
    platform.sim.buyer_message(shop.platform_shop_id, buyer_user_id="x2", nickname="B", text="2")
    platform.sim.deliver_webhooks()
    newest = Conversation.objects.order_by("-id").first()
    assert newest.assignee_id == idle.id


def test_manual_mode_and_nobody_online_leave_it_unassigned(world, platform):
    platform.sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="m1", nickname="M", text="hello"
    )
    platform.sim.deliver_webhooks()
    assert Conversation.objects.get().assignee_id is None


def test_mark_read_reaches_the_platform(world, platform, api):
    shop = world.shop_a1
    conv_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="r1", nickname="R", text="anyone there?"
    )
    platform.sim.deliver_webhooks()
    conv = Conversation.objects.get(platform_conversation_id=conv_id)
    assert conv.unread_count == 1

    def platform_unread():
        shop.refresh_from_db()
        page = shop_api(shop).list_conversations()
        return next(c.unread_count for c in page.items if c.conversation_id == conv_id)

    assert platform_unread() == 1
    r = api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conv.id}/read/")
    assert r.status_code == 200
    assert r.json()["unread_count"] == 0
    assert platform_unread() == 0


def test_expired_token_is_refreshed_once_and_stored_encrypted(world, platform):
    shop = world.shop_a1
    old = Credentials.from_dict(shop.credentials)
    platform.sim.expire_access_token(old.access_token)
    platform.sim.buyer_message(shop.platform_shop_id, buyer_user_id="t1", nickname="T", text="?")
    platform.sim.deliver_webhooks()
    assert Message.objects.count() == 1  # fetched after the refresh
    shop.refresh_from_db()
    new = Credentials.from_dict(shop.credentials)
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token
    with connection.cursor() as cursor:  # the ORM decrypts; read the column itself
        cursor.execute("SELECT credentials FROM inbox_shopaccount WHERE id = %s", [shop.id])
        stored = cursor.fetchone()[0]
    assert stored.startswith("v2:") and new.access_token not in stored


def test_deauthorisation_webhook_stops_the_shop(world, platform, live_server):
    shop = world.shop_a1
    body = json.dumps(
        {
            "type": 6,
            "tts_notification_id": "deauth-1",
            "shop_id": shop.platform_shop_id,
            "timestamp": int(timezone.now().timestamp()),
            "data": {"message": "seller deauthorized"},
        }
    ).encode()
    r = httpx.post(
        live_server.url + "/webhooks/tiktok/",
        content=body,
        headers={"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)},
        timeout=10,
    )
    assert r.status_code == 200
    shop.refresh_from_db()
    assert shop.is_active is False
    assert AuditEvent.objects.filter(action="shop_account.deauthorized").exists()


def test_stuck_replies_are_swept_and_delivered(world, platform):
    from inbox.models import OutboxAction
    from inbox.tasks import sweep_outbox

    conv_id, _ = platform.sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="s1", nickname="S", text="hello"
    )
    platform.sim.deliver_webhooks()
    conv = Conversation.objects.get(platform_conversation_id=conv_id)
    # Given a reply whose task was lost by the broker three minutes ago
    reply = pending_reply(conv, "Lost then found", key="stuck-1")
    OutboxAction.objects.filter(message=reply).update(
        next_attempt_at=timezone.now() - timedelta(minutes=3)
    )
    assert sweep_outbox.apply().get() == 1
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert len(platform.sim.sent_messages(world.shop_a1.platform_shop_id)) == 1


def test_two_workers_with_one_expired_token_refresh_once(world, platform):
    shop = world.shop_a1
    old = Credentials.from_dict(shop.credentials)
    # Two workers loaded the same credentials
    worker_a, worker_b = shop_api(shop), shop_api(ShopAccount.objects.get(pk=shop.pk))
    platform.sim.expire_access_token(old.access_token)
    # The first refreshes and stores the new pair
    worker_a.list_conversations()
    shop.refresh_from_db()
    after_a = Credentials.from_dict(shop.credentials)
    assert after_a.access_token != old.access_token
    # The second, still holding the old (now revoked) token, takes the stored pair instead of
    # refreshing with a refresh token the first refresh already spent
    worker_b.list_conversations()
    shop.refresh_from_db()
    assert Credentials.from_dict(shop.credentials).refresh_token == after_a.refresh_token
