"""Webhook events keep the ids they are about as columns from the moment they are stored, and
each kind of event is acted on by its handler in one table; a kind without one is kept and
marked ignored with its reason."""

from __future__ import annotations

import json

import httpx
import pytest

from inbox.models import Conversation, Message, ShopAccount, WebhookEvent
from inbox.platforms.tiktok_shop.signing import webhook_signature
from inbox.services import webhooks
from inbox.services.webhooks import Outcome, WebhookHandler, webhook_receive
from inbox.tasks import process_webhook_events
from monitoring.models import AuditEvent
from tests.inbox.platform_world import APP_KEY, APP_SECRET
from tests.inbox.test_webhook_ingress import _acked_in_services_mode

pytestmark = pytest.mark.django_db(transaction=True)


def _signed(shop, type_code: int, nid: str, data: dict) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {
            "type": type_code,
            "tts_notification_id": nid,
            "shop_id": shop.platform_shop_id,
            "timestamp": 1_700_000_000,
            "data": data,
        }
    ).encode()
    return {"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)}, body


def _post(asgi_server: str, shop, type_code: int, nid: str, data: dict) -> WebhookEvent:
    headers, body = _signed(shop, type_code, nid, data)
    r = httpx.post(asgi_server + "/webhooks/tiktok/", content=body, headers=headers, timeout=10)
    assert r.status_code == 200
    return WebhookEvent.objects.get(id=int(r.headers["X-SCRM-Event"]))


# --- ids as columns ------------------------------------------------------------------------
def test_a_message_notification_keeps_its_conversation_and_message_ids(world, platform):
    shop = world.shop_a1
    # When a buyer writes and the platform notifies us
    conversation_id, message_id = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="c1", nickname="C", text="hello"
    )
    platform.sim.deliver_webhooks()
    # Then the stored event is found by its conversation with a plain column lookup, and says
    # which message it was about
    events = WebhookEvent.objects.filter(
        shop_account=shop, conversation_platform_id=conversation_id, kind="new_message"
    )
    assert list(events.values_list("message_platform_id", "status")) == [(message_id, "processed")]


def test_a_return_notification_keeps_its_return_and_order_ids(world, platform):
    shop = world.shop_a1
    # When a buyer asks for a refund and the platform notifies us
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id="r1", order_id="576000000000000001"
    )
    platform.sim.deliver_webhooks()
    # Then the event is found by its return and by its order, without reading its body
    event = WebhookEvent.objects.only("id", "kind", "status", "error").get(
        return_platform_id=return_id
    )
    assert WebhookEvent.objects.filter(order_platform_id="576000000000000001").get() == event
    # And the after-sales handler acted on it (tests/inbox/test_after_sales_ingestion.py)
    assert (event.kind, event.status) == ("return_status", "processed")


def test_a_cancellation_notification_keeps_its_cancellation_and_order_ids(
    world, platform, asgi_server
):
    event = _post(
        asgi_server,
        world.shop_a1,
        11,
        "n-cancel",
        {"order_id": "576000000000000002", "cancel_id": "4036000000000001", "cancel_status": "X"},
    )
    assert (event.cancellation_platform_id, event.order_platform_id) == (
        "4036000000000001",
        "576000000000000002",
    )
    # The platform knows no such cancellation: kept, and marked ignored with the reason
    assert (event.kind, event.status) == ("cancellation_status", "ignored")
    assert event.error == "cancellation not found on the platform"


# --- the handler table ---------------------------------------------------------------------
def test_the_table_has_a_handler_for_each_kind_acted_on_today():
    # A new handler comes with a test below (and a line here).
    assert set(webhooks.WEBHOOK_HANDLERS) == {
        "new_message",
        "new_conversation",
        "deauthorization",
        "return_status",
        "cancellation_status",
    }


@pytest.mark.parametrize("type_code", [14, 13])
def test_a_message_or_conversation_event_syncs_its_conversation(world, platform, type_code):
    shop = world.shop_a1
    conversation_id, message_id = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="h1", nickname="H", text="is it in stock?"
    )
    platform.sim.deliver_webhooks(drop=1.0)  # lost: only our notification below arrives
    headers, body = _signed(shop, type_code, f"n-{type_code}", {"conversation_id": conversation_id})
    receipt = webhook_receive(platform="tiktok_shop", headers=headers, body=body)
    event = WebhookEvent.objects.get(id=receipt.event_id)
    assert (event.status, event.conversation_platform_id) == ("processed", conversation_id)
    assert Message.objects.filter(shop_account=shop, platform_message_id=message_id).exists()


def test_a_buyers_first_message_opens_the_conversation_without_a_new_conversation_event(
    world, platform
):
    shop = world.shop_a1
    # Given a shop subscribed to NEW_CONVERSATION as well as NEW_MESSAGE
    assert "NEW_CONVERSATION" in platform.sim.shops[shop.platform_shop_id].webhooks
    # When a buyer writes to it for the first time
    conversation_id, message_id = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="first", nickname="F", text="do you ship to Ohio?"
    )
    platform.sim.deliver_webhooks()
    # Then the platform sent NEW_MESSAGE only (NEW_CONVERSATION is about agents), and that was
    # enough: the conversation is in the inbox with the buyer's message, waiting for an answer
    kinds = WebhookEvent.objects.filter(shop_account=shop).values_list("kind", "type_code")
    assert list(kinds) == [("new_message", 14)]
    conversation = Conversation.objects.get(
        shop_account=shop, platform_conversation_id=conversation_id
    )
    message = Message.objects.get(conversation=conversation)
    assert (message.platform_message_id, message.direction) == (message_id, "in")
    assert conversation.waiting_since is not None


def test_an_agent_joining_fires_new_conversation_which_reads_the_conversation_again(
    world, platform
):
    shop = world.shop_a1
    conversation_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="joined", nickname="J", text="hello?"
    )
    platform.sim.deliver_webhooks()

    def message_reads() -> int:
        calls = platform.sim.api_calls
        return sum(
            n for (verb, path), n in calls.items() if (verb, path[-9:]) == ("GET", "/messages")
        )

    reads_before = message_reads()
    # When a customer-service agent joins the conversation (through the control API)
    answer = httpx.post(
        platform.server.base_url + "/_sim/agent",
        json={
            "action": "join",
            "shop_id": shop.platform_shop_id,
            "conversation_id": conversation_id,
        },
        timeout=10,
    )
    assert answer.json()["code"] == 0
    assert platform.sim.deliver_webhooks()["statuses"] == {200: 1}
    # Then NEW_CONVERSATION (13) arrived about that conversation and was acted on
    event = WebhookEvent.objects.get(shop_account=shop, type_code=13)
    assert (event.kind, event.status) == ("new_conversation", "processed")
    assert event.conversation_platform_id == conversation_id
    assert message_reads() == reads_before + 1
    # And nothing was stored twice: one conversation, one message
    assert Conversation.objects.filter(shop_account=shop).count() == 1
    assert Message.objects.filter(shop_account=shop).count() == 1


def test_a_deauthorization_event_stops_the_shop_and_is_audited(world, platform, asgi_server):
    shop = world.shop_a1
    event = _post(asgi_server, shop, 6, "n-deauth", {"reason": "seller revoked"})
    assert (event.kind, event.status) == ("deauthorization", "processed")
    assert not ShopAccount.objects.get(pk=shop.pk).is_active
    assert AuditEvent.objects.filter(
        action="shop_account.deauthorized", target_id=str(shop.pk)
    ).exists()


def test_an_unknown_type_is_kept_and_marked_ignored_with_its_reason(world, platform, asgi_server):
    event = _post(asgi_server, world.shop_a1, 999, "n-unknown", {"order_id": "576000000000000003"})
    assert (event.kind, event.status) == ("unknown", "ignored")
    assert event.error == "no handler for unknown (type 999)"
    assert event.order_platform_id == "576000000000000003"  # kept, and findable
    assert json.loads(event.body)["type"] == 999  # the raw notification stays for inspection


def test_a_handler_added_to_the_table_receives_its_events_by_their_columns(
    world, platform, monkeypatch
):
    # Given a returns handler registered as the after-sales capability will register one
    calls: list[list[tuple[int, str, str]]] = []

    def handle(shop, events):
        calls.append([(shop.pk, e.return_platform_id, e.order_platform_id) for e in events])
        return Outcome("processed")

    monkeypatch.setitem(
        webhooks.WEBHOOK_HANDLERS,
        "return_status",
        WebhookHandler(handle=handle, group_key=lambda e: e.return_platform_id),
    )
    shop = world.shop_a1
    # And two notifications about one return waiting in one batch, their bodies gone
    ids = _acked_in_services_mode(
        [
            _signed(shop, 12, nid, {"return_id": "4035001", "order_id": "5765001", "st": st})[1]
            for nid, st in (("n-r1", "PENDING"), ("n-r2", "APPROVED"))
        ]
    )
    WebhookEvent.objects.filter(id__in=ids).update(body="")
    # When a worker processes the batch
    assert process_webhook_events.apply(args=[ids]).get() == {"processed": 2}
    # Then the handler was called once for both, with the ids from the columns
    assert calls == [[(shop.pk, "4035001", "5765001"), (shop.pk, "4035001", "5765001")]]
    assert set(WebhookEvent.objects.filter(id__in=ids).values_list("status", flat=True)) == {
        "processed"
    }
    # And each counts one attempt; the batch queued again (a redelivery) acts on and counts
    # nothing more
    assert list(WebhookEvent.objects.filter(id__in=ids).values_list("attempts", flat=True)) == [
        1,
        1,
    ]
    process_webhook_events.apply(args=[ids]).get()
    assert len(calls) == 1
    assert set(WebhookEvent.objects.filter(id__in=ids).values_list("attempts", flat=True)) == {1}


def test_events_of_a_shop_gone_are_kept_and_marked_ignored(world, platform, asgi_server):
    shop = world.shop_a1
    conversation_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="g1", nickname="G", text="hi"
    )
    # Given a notification stored, and the shop disconnected before a worker took it up
    body = _signed(shop, 14, "n-gone", {"conversation_id": conversation_id})[1]
    [event_id] = _acked_in_services_mode([body])
    ShopAccount.objects.filter(pk=shop.pk).update(is_active=False)
    assert process_webhook_events.apply(args=[[event_id]]).get() == {"ignored": 1}
    event = WebhookEvent.objects.get(id=event_id)
    assert (event.status, event.error) == ("ignored", "shop account deleted or disconnected")
    assert not Message.objects.filter(shop_account=shop).exists()


def test_an_operator_finds_events_by_the_id_they_are_about_without_their_body(
    world, platform, client
):
    from tests.factories import UserFactory

    shop = world.shop_a1
    conversation_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="o1", nickname="O", text="my secret address"
    )
    platform.sim.deliver_webhooks()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    # When an operator searches the webhook events for the conversation
    page = client.get("/admin/inbox/webhookevent/", {"q": conversation_id})
    # Then its event is listed, and the stored body (it may carry message text) is not shown
    events = WebhookEvent.objects.filter(conversation_platform_id=conversation_id)
    assert {e.kind for e in events} == {"new_message"}
    assert page.status_code == 200
    assert all(f"/admin/inbox/webhookevent/{e.id}/change/" in page.content.decode() for e in events)
    event = events.get(kind="new_message")
    detail = client.get(f"/admin/inbox/webhookevent/{event.id}/change/").content.decode()
    assert conversation_id in detail and "my secret address" not in detail
    # And another conversation's id lists nothing
    other = client.get("/admin/inbox/webhookevent/", {"q": "7000000000000000001"})
    assert f"/admin/inbox/webhookevent/{event.id}/change/" not in other.content.decode()


# --- a batch reads each shop's SLA rules once -----------------------------------------------
def _new_conversations(platform, shop, buyers: list[str]) -> list[int]:
    """Each buyer writes "hello" to ``shop``; the notifications acknowledged as services mode
    does, their batch left to the test."""
    bodies = []
    for buyer in buyers:
        conversation_id, message_id = platform.sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=buyer, nickname=buyer, text="hello"
        )
        data = {"conversation_id": conversation_id, "message_id": message_id}
        bodies.append(_signed(shop, 14, f"n-{shop.pk}-{buyer}", data)[1])
    return _acked_in_services_mode(bodies)


def test_a_batch_reads_a_shops_sla_rules_once_and_an_edit_applies_to_the_next(world, platform):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitoring.models import Deadline, SlaPolicy
    from tests.statements import statements_of

    shop = world.shop_a1
    SlaPolicy.objects.create(organisation=world.org_a, shop_account=shop, first_reply_minutes=30)
    # Given three buyers of one shop opening conversations, notified in one batch
    ids = _new_conversations(platform, shop, ["m1", "m2", "m3"])
    # When a worker processes it
    with CaptureQueriesContext(connection) as captured:
        assert process_webhook_events.apply(args=[ids]).get() == {"processed": 3}
    # Then each conversation has its first-reply deadline of the shop's 30 minutes, and the
    # shop's policy and calendar were read once for the three
    firsts = Deadline.objects.filter(shop_account=shop, kind="first_reply")
    assert sorted(d.rule["minutes"] for d in firsts) == [30, 30, 30]
    reads = [s for s in statements_of(captured) if "monitoring_businesscalendar" in s]
    assert len(reads) == 1
    # When the supervisor changes the policy, the next batch's new conversations follow it
    SlaPolicy.objects.filter(shop_account=shop).update(first_reply_minutes=45)
    ids = _new_conversations(platform, shop, ["m4"])
    assert process_webhook_events.apply(args=[ids]).get() == {"processed": 1}
    latest = Deadline.objects.filter(shop_account=shop, kind="first_reply").latest("id")
    assert latest.rule["minutes"] == 45
