"""End to end over real HTTP: the TikTok Shop simulator pushes signed webhooks to the live
server, the connector fetches from the simulator, replies go back to it."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from inbox.models import Conversation, Message, Role, WebhookEvent
from inbox.platforms.tiktok_shop.adapter import SEND_MESSAGE_PATH
from inbox.platforms.tiktok_shop.signing import webhook_signature
from inbox.services.ingestion import shop_backfill
from tests.factories import make_person
from tests.inbox.platform_world import APP_KEY, APP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

NOW = int(time.time())


@pytest.fixture
def two_shop_agent(world):
    return make_person(world.org_a, Role.AGENT, [world.shop_a1, world.shop_a2], username="two")


def queue_ids(api, user):
    response = api.as_user(user).get("/api/v1/conversations/")
    assert response.status_code == 200
    return [row["platform_conversation_id"] for row in response.json()["results"]]


def test_two_shops_one_queue_reply_recorded_once(world, platform, api, two_shop_agent):
    sim = platform.sim
    # Given buyers write to two shops, the older one first
    c1, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="b1",
        nickname="Emily R.",
        text="Hi, my parcel arrived damaged",
        at=NOW - 600,
    )
    c2, _ = sim.buyer_message(
        world.shop_a2.platform_shop_id,
        buyer_user_id="b2",
        nickname="王芳",
        text="这件衣服尺码偏大吗？",
        at=NOW - 540,
    )
    # When the platform delivers its webhooks
    stats = sim.deliver_webhooks()
    assert stats["statuses"] == {200: stats["sent"]}
    # Then both appear in one agent's queue, longest waiting first
    assert queue_ids(api, two_shop_agent) == [c1, c2]
    conv = Conversation.objects.get(platform_conversation_id=c1)
    assert conv.customer.display_name == "Emily R."
    # When the agent replies (twice, as a double click would)
    for _ in range(2):
        r = api.as_user(two_shop_agent).post(
            f"/api/v1/conversations/{conv.id}/messages/",
            {"text": "Sorry! We will send a replacement today.", "idempotency_key": "k-1"},
            format="json",
        )
        assert r.status_code in (200, 201), r.content
    # Then the platform recorded it exactly once, and the reply shows sent
    sent = sim.sent_messages(world.shop_a1.platform_shop_id)
    assert len(sent) == 1
    assert sent[0]["content"] == {"content": "Sorry! We will send a replacement today."}
    reply = Message.objects.get(conversation=conv, direction="out")
    assert reply.delivery_state == "sent"
    assert reply.platform_message_id == sent[0]["message_id"]
    conv.refresh_from_db()
    assert conv.waiting_since is None  # answered
    # Webhooks for our own message (if the platform sends them) are not stored twice
    sim.deliver_webhooks()
    assert Message.objects.filter(conversation=conv, direction="out").count() == 1


def test_replays_reorders_and_drops_end_with_exactly_the_platform_messages(world, platform):
    sim = platform.sim
    shops = [world.shop_a1, world.shop_a2]
    texts = ["Where is my order?", "Is this in stock?", "可以退货吗？", "Size M fits?", "谢谢"]
    at = NOW - 3600
    for i in range(12):
        shop = shops[i % 2]
        for j in range(1 + i % 4):
            at += 7
            sim.buyer_message(
                shop.platform_shop_id,
                buyer_user_id=f"buyer{i}",
                nickname=f"Buyer {i}",
                text=texts[(i + j) % len(texts)],
                at=at,
            )
    # Every webhook 10 times, shuffled, 20% of notifications lost
    stats = sim.deliver_webhooks(duplicate=10, shuffle=True, drop=0.2, seed=7)
    assert stats["dropped"] > 0
    assert set(stats["statuses"]) == {200}
    # The periodic backfill closes the gap
    for shop in shops:
        shop.refresh_from_db()
        shop_backfill(shop=shop)
    expected = sim.all_buyer_message_ids()
    stored = list(
        Message.objects.filter(direction="in").values_list("platform_message_id", flat=True)
    )
    assert Counter(stored) == Counter(expected)  # each exactly once, none missing
    # and each conversation's timeline is the platform's order, not the arrival order
    for conv in Conversation.objects.all():
        ours = list(
            conv.messages.order_by("sent_at", "platform_index", "id").values_list(
                "platform_message_id", flat=True
            )
        )
        theirs = [
            m["id"]
            for m in sim.messages(conv.shop_account.platform_shop_id, conv.platform_conversation_id)
        ]
        assert ours == theirs
    # Replaying everything again changes nothing
    before = Message.objects.count()
    sim.deliver_webhooks(duplicate=3)
    assert Message.objects.count() == before


def _post(url, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Authorization"] = signature
    return httpx.post(url, content=body, headers=headers, timeout=10)


def _envelope(shop_id: str, type_: int, nid: str, data: dict) -> bytes:
    return json.dumps(
        {
            "type": type_,
            "tts_notification_id": nid,
            "shop_id": shop_id,
            "timestamp": 1_700_000_000,
            "data": data,
        }
    ).encode()


@pytest.mark.parametrize("door", ["asgi", "django"])
def test_bad_input_gets_clear_errors_and_loses_nothing(world, platform, door, request, caplog):
    # The same answers from the ASGI ingress and from Django's URLconf (WSGI deployments).
    base = request.getfixturevalue("asgi_server" if door == "asgi" else "live_server")
    url = (base if door == "asgi" else base.url) + "/webhooks/tiktok/"
    shop_id = world.shop_a1.platform_shop_id
    conv_id, _ = platform.sim.buyer_message(
        shop_id, buyer_user_id="b9", nickname="Kept Buyer", text="keep me"
    )
    platform.sim.deliver_webhooks()
    kept = Message.objects.count()
    assert kept == 1
    body = _envelope(shop_id, 14, "n-bad-sig", {"conversation_id": conv_id, "message_id": "x"})
    # unsigned and wrongly signed: 401, nothing stored
    assert _post(url, body, None).status_code == 401
    bad = _post(url, body, webhook_signature(APP_KEY, "wrong-secret", body))
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.filter(notification_id="n-bad-sig").exists()
    # malformed JSON: 400
    junk = b'{"type": 14, "shop_id": '
    r = _post(url, junk, webhook_signature(APP_KEY, APP_SECRET, junk))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_webhook"
    # unknown event type: 200, stored, logged without its body
    unknown = _envelope(shop_id, 999, "n-unknown", {"secret_buyer_text": "PII-LIKE"})
    with caplog.at_level("INFO"):
        r = _post(url, unknown, webhook_signature(APP_KEY, APP_SECRET, unknown))
    assert r.status_code == 200
    assert WebhookEvent.objects.get(notification_id="n-unknown").status == "ignored"
    assert "PII-LIKE" not in caplog.text
    # oversized: 413
    huge = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    assert _post(url, huge, webhook_signature(APP_KEY, APP_SECRET, huge)).status_code == 413
    # GET is not a webhook
    assert httpx.get(url, timeout=5).status_code == 405
    assert Message.objects.count() == kept


def test_another_shops_agent_sees_nothing_of_it(world, platform, api):
    conv_id, _ = platform.sim.buyer_message(
        world.shop_a2.platform_shop_id, buyer_user_id="b3", nickname="Zoe", text="hello?"
    )
    platform.sim.deliver_webhooks()
    conv = Conversation.objects.get(platform_conversation_id=conv_id)
    agent = api.as_user(world.agent_a1)  # member of a1 only
    assert queue_ids(api, world.agent_a1) == []
    assert agent.get(f"/api/v1/conversations/{conv.id}/").status_code == 404
    assert agent.get(f"/api/v1/conversations/{conv.id}/messages/").status_code == 404


def test_platform_failures_end_sent_after_retries_or_visibly_failed(world, platform, api):
    sim = platform.sim
    conv_id, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="b4", nickname="Liam", text="status?"
    )
    sim.deliver_webhooks()
    conv = Conversation.objects.get(platform_conversation_id=conv_id)
    path = SEND_MESSAGE_PATH.format(conversation_id=conv_id)
    # a burst of 503s and a rate limit: retried, then sent once
    sim.set_fault(path, "5xx", count=2)
    sim.set_fault(path, "rate_limit", count=1)
    r = api.as_user(world.agent_a1).post(
        f"/api/v1/conversations/{conv.id}/messages/",
        {"text": "It ships tomorrow.", "idempotency_key": "retry-1"},
        format="json",
    )
    assert r.status_code == 201
    message = Message.objects.get(idempotency_key="retry-1")
    assert message.delivery_state == "sent"
    assert len(sim.sent_messages(world.shop_a1.platform_shop_id)) == 1
    # a platform that keeps failing: the reply ends visibly failed, then retried by hand
    sim.set_fault(path, "5xx", count=200)
    r = api.as_user(world.agent_a1).post(
        f"/api/v1/conversations/{conv.id}/messages/",
        {"text": "Second note", "idempotency_key": "retry-2"},
        format="json",
    )
    failed = Message.objects.get(idempotency_key="retry-2")
    assert failed.delivery_state == "failed"
    assert failed.failure_reason
    sim.clear_faults()
    r = api.as_user(world.agent_a1).post(
        f"/api/v1/conversations/{conv.id}/messages/{failed.id}/retry/"
    )
    assert r.status_code == 202, r.content
    failed.refresh_from_db()
    assert failed.delivery_state == "sent"
    assert len(sim.sent_messages(world.shop_a1.platform_shop_id)) == 2


def test_text_over_the_platform_limit_is_a_clear_4xx(world, platform, api):
    conv_id, _ = platform.sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="b5", nickname="Ava", text="hi"
    )
    platform.sim.deliver_webhooks()
    conv = Conversation.objects.get(platform_conversation_id=conv_id)
    r = api.as_user(world.agent_a1).post(
        f"/api/v1/conversations/{conv.id}/messages/", {"text": "x" * 2001}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "text_too_long"
    assert r.json()["error"]["details"] == {"length": 2001, "max_length": 2000}
    assert not Message.objects.filter(direction="out").exists()
    assert platform.sim.sent_messages() == []
