"""Webhooks that no parser, column or URL should choke on: each a clear 400 through both doors
(the ASGI ingress and Django's URLconf), and signed notifications that can never succeed fail
once, visibly, and are never retried. Run in services mode too: PostgreSQL refuses NUL and lone
surrogates in text and integers beyond 32 bits where SQLite stores them."""

from __future__ import annotations

import importlib
import json
import logging
from datetime import timedelta

import httpx
import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from inbox.models import Message, ShopAccount, WebhookEvent
from inbox.platforms.base import Credentials, InvalidPlatformId, get_adapter
from inbox.platforms.tiktok_shop.signing import webhook_signature
from inbox.tasks import process_webhook_events, reprocess_stale_webhooks
from tests.inbox.platform_world import APP_KEY, APP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

READ_MESSAGES = ("GET", "/customer_service/202309/conversations/{conversation_id}/messages")


def _body(shop_id: object, *, type_: object = 14, nid: object = "n-1", data=None) -> bytes:
    return json.dumps(
        {
            "type": type_,
            "tts_notification_id": nid,
            "shop_id": shop_id,
            "timestamp": 1_700_000_000,
            "data": data if data is not None else {"conversation_id": "7001", "message_id": "1"},
        }
    ).encode()


def _signed(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Authorization": webhook_signature(APP_KEY, APP_SECRET, body),
    }


def _nested(depth: int) -> bytes:
    return (
        b'{"type": 14, "shop_id": "1", "tts_notification_id": "n-deep", "data": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


@pytest.fixture
def door(request, world, platform):
    """The webhook URL through the ASGI ingress or through Django's view (a live server)."""
    if request.param == "asgi":
        base = request.getfixturevalue("asgi_server")
    else:
        base = request.getfixturevalue("live_server").url
    return base + "/webhooks/tiktok/"


@pytest.mark.parametrize("door", ["asgi", "django"], indirect=True)
def test_malformed_notifications_are_400_before_and_after_the_signature(world, door):
    shop_id = world.shop_a1.platform_shop_id
    # Before the signature is checked (unsigned): the fields that find the key are refused
    before = {
        "superscript type": b'{"type": "\\u00b2", "shop_id": "1", "data": {}}',
        "NUL shop id": _body("75\u0000"),
        "lone surrogate shop id": b'{"type": 14, "shop_id": "\\ud800", "data": {}}',
        "1,000 levels deep": _nested(1000),
        "shop id not a platform id": _body("../../x"),
    }
    for case, body in before.items():
        r = httpx.post(door, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, case
        assert set(r.json()["error"]) == {"code", "message", "details"}, case
        assert r.json()["error"]["code"] == "malformed_webhook", case
    # After it (signed with the shop's key): what the row could not hold
    after = {
        "type beyond 32 bits": _body(shop_id, type_=2**31),
        "negative type": _body(shop_id, type_=-1),
        "129-character notification id": _body(shop_id, nid="n" * 129),
        "NUL in the notification id": _body(shop_id, nid="n-\u0000"),
        "lone surrogate notification id": _body(shop_id, nid="\ud800"),
    }
    for case, body in after.items():
        unsigned = httpx.post(door, content=body, headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401, case  # nothing past the key is read unsigned
        r = httpx.post(door, content=body, headers=_signed(body))
        assert r.status_code == 400, case
        assert r.json()["error"]["code"] == "malformed_webhook", case
    # Nothing was stored
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("bad_id", ["\ud800", "../../x", "7001\u0000", "9" * 200])
def test_a_signed_event_whose_ids_break_urls_fails_once_and_is_never_retried(
    world, platform, bad_id, caplog, client
):
    shop = world.shop_a1
    body = json.dumps(
        {
            "type": 14,
            "tts_notification_id": "n-poison",
            "shop_id": shop.platform_shop_id,
            "timestamp": 1_700_000_000,
            "data": {"conversation_id": bad_id, "message_id": "1"},
        }
    ).encode()
    reads = platform.sim.api_calls[READ_MESSAGES]
    # When the platform delivers it (signed, well formed, an id no platform uses)
    with caplog.at_level(logging.INFO):
        r = client.post(
            "/webhooks/tiktok/",
            body,
            content_type="application/json",
            headers={"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)},
        )
    # Then it is acknowledged (the platform must stop resending) and stored failed, visibly
    assert r.status_code == 200
    event = WebhookEvent.objects.get(notification_id="n-poison")
    assert event.status == "failed"
    assert event.error == "conversation_id is not a valid platform id"
    warnings = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
    assert any(f"webhook event {event.id} failed" in rec.getMessage() for rec in warnings)
    assert bad_id not in caplog.text
    creds = Credentials.from_dict(ShopAccount.objects.get(id=shop.id).credentials)
    assert creds.app_key not in caplog.text and creds.shop_cipher not in caplog.text
    # And the platform was never called, not now, and not by the stale sweep a minute later
    WebhookEvent.objects.filter(id=event.id).update(received_at=timezone.now() - timedelta(hours=1))
    assert reprocess_stale_webhooks.apply().get() == 0
    assert platform.sim.api_calls[READ_MESSAGES] == reads
    assert WebhookEvent.objects.get(id=event.id).status == "failed"


def test_an_event_stored_before_ids_were_checked_fails_at_migration_and_is_never_processed(
    world, platform
):
    # Given a poison event stored by an earlier version (before migration 0010), still
    # "received", its id columns blank
    shop = world.shop_a1
    body = _body(shop.platform_shop_id, nid="n-old", data={"conversation_id": "../../x"})
    event = WebhookEvent.objects.create(
        platform="tiktok_shop",
        notification_id="n-old",
        shop_account=shop,
        type_code=14,
        kind="new_message",
        body=body.decode(),
    )
    # When migration 0010 fills the id columns of the events already stored
    migration = importlib.import_module("inbox.migrations.0010_sync_streams_and_webhook_ids")
    migration.webhook_event_ids_fill(django_apps, None)
    # Then it is failed with its reason, and a worker given it later leaves it so (no attempt,
    # no platform call)
    event.refresh_from_db()
    assert (event.status, event.error) == ("failed", "conversation_id is not a valid platform id")
    assert event.conversation_platform_id == ""
    reads = platform.sim.api_calls[READ_MESSAGES]
    assert process_webhook_events.apply(args=[[event.id]]).get() == {"failed": 1}
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 0)
    assert platform.sim.api_calls[READ_MESSAGES] == reads


def test_events_that_keep_failing_are_given_up_by_the_sweep(world, platform):
    # Given an event whose processing failed five times with an error nobody recognised
    shop = world.shop_a1
    body = _body(shop.platform_shop_id, nid="n-stuck")
    event = WebhookEvent.objects.create(
        platform="tiktok_shop",
        notification_id="n-stuck",
        shop_account=shop,
        type_code=14,
        kind="new_message",
        body=body.decode(),
        attempts=5,
    )
    WebhookEvent.objects.filter(id=event.id).update(received_at=timezone.now() - timedelta(hours=1))
    # When the sweep runs, it is not queued again but marked failed
    assert reprocess_stale_webhooks.apply().get() == 0
    event.refresh_from_db()
    assert (event.status, event.error) == ("failed", "gave up after 5 attempts")


def test_signing_failures_never_show_the_string_to_sign(world, platform, caplog):
    # Given a connected shop whose credentials carry the app key and the shop cipher
    shop = world.shop_a1
    shop.refresh_from_db()
    creds = Credentials.from_dict(shop.credentials)
    assert creds.app_key and creds.shop_cipher
    api = get_adapter("tiktok_shop").connect(creds)
    errors = []
    with caplog.at_level(logging.DEBUG):
        # When calls are made that cannot be signed or would change the signed path
        for call in (
            lambda: api.list_conversations(page_token="\ud800"),
            lambda: api.list_messages("\ud800"),
            lambda: api.list_messages("../../x"),
            lambda: api.mark_read("7\u0000"),
        ):
            with pytest.raises(InvalidPlatformId) as failure:
                call()
            errors.append(failure.value)
    # Then neither the logs nor the errors (as a task failure would print them, chained
    # causes included) carry the app key, the shop cipher or the string to sign
    shown = caplog.text + "".join(
        repr(e) + str(e) + repr(e.__cause__) + repr(e.__context__) for e in errors
    )
    for secret in (creds.app_key, creds.shop_cipher, "app_key" + creds.app_key):
        assert secret not in shown
    assert Message.objects.count() == 0


def test_the_backfill_skips_platform_objects_whose_ids_no_platform_uses(world, platform, caplog):
    # Given the platform lists a conversation whose id no platform uses (200 digits: beyond
    # every column and sane URL), and a good conversation with one message whose id is 129
    # characters (PostgreSQL would refuse the row)
    shop, sim = world.shop_a1, platform.sim
    bad_conversation, _ = sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="b-bad", nickname="B", text="hi"
    )
    good_conversation, _ = sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="b-good", nickname="G", text="first"
    )
    sim.buyer_message(shop.platform_shop_id, buyer_user_id="b-good", nickname="G", text="second")
    with sim.lock:
        sim.outbox.clear()
        moved = sim.conversations.pop(bad_conversation)
        moved.id = "9" * 200
        sim.conversations[moved.id] = moved
        sim.conversation_by_buyer[shop.platform_shop_id, "b-bad"] = moved.id
        for message in moved.messages:
            message.conversation_id = moved.id
        sim.conversations[good_conversation].messages[0].id = "8" * 129
    # When the backfill runs
    from inbox.services.ingestion import shop_backfill

    with caplog.at_level(logging.WARNING):
        stored = shop_backfill(shop=shop)
    # Then the rest is stored, the unusable objects are left out with a warning (no content)
    assert stored == 1
    assert [m.text for m in Message.objects.all()] == ["second"]
    assert "1 conversations without a valid platform id skipped" in caplog.text
    assert "1 messages without a valid platform id skipped" in caplog.text
    assert "first" not in caplog.text


def test_a_notification_for_a_shop_never_connected_is_401(world, client):
    # Given a shop account made by hand, without credentials (shop a3 here)
    body = _body(world.shop_a3.platform_shop_id)
    response = client.post(
        "/webhooks/tiktok/",
        body,
        content_type="application/json",
        headers={"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)},
    )
    # Then nothing can verify it: 401, not a 500
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
