"""Conformance of OAuth, shops, customer service and webhook subscriptions (see the package
doc): every answer through the independent client, checked strictly."""

from __future__ import annotations

import datetime
import json
from typing import Any

from tiktok_shop_api.generated import models as m

from tests.inbox.platforms import strict_models
from tests.inbox.platforms.conformance.client import (
    APP_KEY,
    BUYER,
    OTHER_BUYER,
    SHOP_ID,
    TokenEnvelope,
    World,
    in_domain,
)

# The content samples of SendMessageRequest.content's doc text, one per sendable type.
SEND_SAMPLES: dict[m.SendMessageRequestType, dict[str, Any]] = {
    m.SendMessageRequestType.TEXT: {"content": "hi, I want to get refunded."},
    m.SendMessageRequestType.VIDEO: {"vid": "v10394g5000cd499vc7og65mqn3r3dg0"},
    m.SendMessageRequestType.LOGISTICS_CARD: {"order_id": "580874485811283206"},
    m.SendMessageRequestType.PRODUCT_CARD: {"product_id": "7494560109732334265"},
    m.SendMessageRequestType.ORDER_CARD: {"order_id": "7494560109732334267"},
    m.SendMessageRequestType.RETURN_REFUND_CARD: {
        "order_id": "7494560109732334267",
        "sku_id": "7494560109732363423",
    },
    m.SendMessageRequestType.IMAGE: {
        "url": "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/2ca53c34.image",
        "width": 1280,
        "height": 720,
    },
    m.SendMessageRequestType.COUPON_CARD: {"coupon_id": "7262992004278206762"},
}


# --- OAuth and shops ----------------------------------------------------------------------------
def test_token_get_and_refresh(tts: World) -> None:
    code = tts.sim.issue_auth_code(APP_KEY, [SHOP_ID])

    got = tts.answer("token get", lambda: tts.auth.exchange_code(code), TokenEnvelope)
    refreshed = tts.answer(
        "token refresh",
        lambda: tts.auth.refresh(got["data"]["refresh_token"]),
        TokenEnvelope,
    )

    # The refreshed access token works for a signed call; the one it replaced does not.
    new_token = refreshed["data"]["access_token"]
    shops = tts.answer(
        "authorized shops with the refreshed token",
        tts.shop.with_shop(access_token=new_token).authorization.get_authorized_shops,
        m.GetAuthorizedShopsResponse,
    )
    assert [s["id"] for s in shops["data"]["shops"]] == [SHOP_ID]
    old = tts.shop.with_shop(access_token=got["data"]["access_token"])
    assert tts.refusal(old.authorization.get_authorized_shops).code != 0


def test_an_expired_access_token_is_refused_then_refreshed(tts: World) -> None:
    tts.sim.expire_access_token(tts.access_token)

    expired = tts.refusal(lambda: tts.shop.customer_service.get_conversations(page_size=5))
    assert expired.code == 105002  # TikTok's "expired credentials"

    refreshed = tts.answer(
        "token refresh", lambda: tts.auth.refresh(tts.refresh_token), TokenEnvelope
    )
    again = tts.shop.with_shop(access_token=refreshed["data"]["access_token"])
    tts.answer(
        "conversations after a refresh",
        lambda: again.customer_service.get_conversations(page_size=5),
        m.GetConversationsResponse,
    )


def test_authorized_shops(tts: World) -> None:
    # A client without a shop cipher: this path must not carry one.
    app = tts.shop.with_shop(shop_cipher=None)
    raw = tts.answer(
        "authorized shops", app.authorization.get_authorized_shops, m.GetAuthorizedShopsResponse
    )
    (shop,) = raw["data"]["shops"]
    assert (shop["id"], shop["cipher"], shop["region"]) == (SHOP_ID, tts.cipher, "US")


# --- customer service ---------------------------------------------------------------------------
def test_conversations_list_with_a_created_conversation_without_messages(tts: World) -> None:
    tts.sim.buyer_message(SHOP_ID, buyer_user_id=BUYER, nickname="Emily R.", text="Hi there")
    tts.answer(
        "create conversation",
        lambda: tts.shop.customer_service.create_conversation(
            body=m.CreateConversationRequest(buyer_user_id=OTHER_BUYER)
        ),
        m.CreateConversationResponse,
    )

    raw = tts.answer(
        "conversations",
        lambda: tts.shop.customer_service.get_conversations(page_size=20),
        m.GetConversationsResponse,
    )

    assert len(raw["data"]["conversations"]) == 2


def test_conversations_pages_follow_next_page_token(tts: World) -> None:
    for n in range(3):
        tts.sim.buyer_message(
            SHOP_ID, buyer_user_id=f"74940000000000001{n:02d}", nickname=f"Buyer {n}", text="hi"
        )
    seen: list[str] = []
    token = ""
    for page in range(3):
        raw = tts.answer(
            f"conversations page {page + 1}",
            lambda token=token: tts.shop.customer_service.get_conversations(
                page_size=2, page_token=token
            ),
            m.GetConversationsResponse,
        )
        seen += [c["id"] for c in raw["data"]["conversations"]]
        token = raw["data"].get("next_page_token", "")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 3


def test_create_conversation(tts: World) -> None:
    raw = tts.answer(
        "create conversation",
        lambda: tts.shop.customer_service.create_conversation(
            body=m.CreateConversationRequest(buyer_user_id=BUYER)
        ),
        m.CreateConversationResponse,
    )
    again = tts.answer(
        "create conversation again (reopens the same one)",
        lambda: tts.shop.customer_service.create_conversation(
            body=m.CreateConversationRequest(buyer_user_id=BUYER)
        ),
        m.CreateConversationResponse,
    )
    assert raw["data"]["conversation_id"] == again["data"]["conversation_id"] != ""


def test_messages_list_of_every_kind(tts: World) -> None:
    cid, _ = tts.sim.buyer_message(SHOP_ID, buyer_user_id=BUYER, nickname="李娜", text="在吗？")
    for kind, content in (
        ("IMAGE", {"url": "https://example.com/p.png", "width": "304", "height": "290"}),
        ("PRODUCT_CARD", {"product_id": "7494560109732334265"}),
        ("ORDER_CARD", {"order_id": "7494560109732334267"}),
        ("VIDEO", {"vid": "v10394g5000cd499vc7og65mqn3r3dg0"}),
        ("EMOTICONS", {"content": "[smile]"}),
    ):
        tts.sim.buyer_message(
            SHOP_ID, buyer_user_id=BUYER, nickname="李娜", type=kind, content=content
        )
    tts.answer(
        "send message",
        lambda: tts.shop.customer_service.send_message(
            cid,
            body=m.SendMessageRequest(
                type_=m.SendMessageRequestType.TEXT, content=json.dumps({"content": "在的"})
            ),
        ),
        m.SendMessageResponse,
    )

    newest_first = all_messages(tts, cid, m.GetConversationMessagesSortOrder.DESC)
    oldest_first = all_messages(tts, cid, m.GetConversationMessagesSortOrder.ASC)

    assert [msg["id"] for msg in newest_first] == [msg["id"] for msg in reversed(oldest_first)]
    listed = newest_first
    assert len(listed) == 7
    for n, message in enumerate(listed):
        assert isinstance(json.loads(message["content"]), dict), f"messages[{n}].content"


def all_messages(
    tts: World, cid: str, order: m.GetConversationMessagesSortOrder
) -> list[dict[str, Any]]:
    """Every message of a conversation, page by page (4 a page)."""
    listed: list[dict[str, Any]] = []
    token = ""
    for page in range(1, 10):
        raw = tts.answer(
            f"conversation messages {order.value} page {page}",
            lambda token=token: tts.shop.customer_service.get_conversation_messages(
                cid, page_size=4, page_token=token, sort_order=order, sort_field="create_time"
            ),
            m.GetConversationMessagesResponse,
        )
        listed += raw["data"]["messages"]
        token = raw["data"].get("next_page_token", "")
        if not token:
            break
    return listed


def test_send_message_of_every_sendable_type(tts: World) -> None:
    cid, _ = tts.sim.buyer_message(SHOP_ID, buyer_user_id=BUYER, nickname="Emily R.", text="Hi")
    sent: list[str] = []
    for kind, content in SEND_SAMPLES.items():
        raw = tts.answer(
            f"send message {kind.value}",
            lambda kind=kind, content=content: tts.shop.customer_service.send_message(
                cid, body=m.SendMessageRequest(type_=kind, content=json.dumps(content))
            ),
            m.SendMessageResponse,
        )
        assert raw["data"]["message_id"]
        sent.append(raw["data"]["message_id"])
    # sender_role, new in 202606: a reply by a real customer-service agent.
    raw = tts.answer(
        "send message with sender_role",
        lambda: tts.shop.customer_service.send_message(
            cid,
            body=m.SendMessageRequest(
                type_=m.SendMessageRequestType.TEXT,
                content=json.dumps({"content": "An agent here."}),
                sender_role="CUSTOMER_SERVICE",
            ),
        ),
        m.SendMessageResponse,
    )
    sent.append(raw["data"]["message_id"])

    listed = tts.answer(
        "conversation messages after the sends",
        lambda: tts.shop.customer_service.get_conversation_messages(cid, page_size=10),
        m.GetConversationMessagesResponse,
    )
    by_id = {msg["id"]: (msg["type"], msg["sender"]["role"]) for msg in listed["data"]["messages"]}
    assert [by_id.get(i) for i in sent] == [(k.value, "SHOP") for k in SEND_SAMPLES] + [
        ("TEXT", "CUSTOMER_SERVICE")
    ]


def test_a_percent_encoded_path_segment_is_signed_as_sent(tts: World) -> None:
    # The client percent-encodes a path parameter ("=" -> "%3D") and signs the path so; the
    # simulator must check that signature and answer the call itself (here: no such
    # conversation), never "invalid sign".
    refused = tts.refusal(
        lambda: tts.shop.customer_service.get_conversation_messages("7300=1", page_size=1)
    )

    assert (refused.http_status, refused.code) == (404, 40004), refused


def test_mark_read(tts: World) -> None:
    cid, _ = tts.sim.buyer_message(SHOP_ID, buyer_user_id=BUYER, nickname="Emily R.", text="Hi")

    tts.answer(
        "read",
        lambda: tts.shop.customer_service.mark_buyer_messages_as_read(cid),
        m.MarkBuyerMessagesAsReadResponse,
    )

    raw = tts.answer(
        "conversations after read",
        lambda: tts.shop.customer_service.get_conversations(page_size=5),
        m.GetConversationsResponse,
    )
    assert raw["data"]["conversations"][0]["unread_count"] == 0


def test_agent_settings(tts: World) -> None:
    cs = tts.shop.customer_service
    got = tts.answer("agent settings", cs.get_agent_settings, m.GetAgentSettingsResponse)
    assert got["data"]["can_accept_chat"] is True

    tts.answer(
        "update agent settings",
        lambda: cs.update_agent_settings(body=m.UpdateAgentSettingsRequest(can_accept_chat=False)),
        m.UpdateAgentSettingsResponse,
    )

    again = tts.answer("agent settings", cs.get_agent_settings, m.GetAgentSettingsResponse)
    assert again["data"]["can_accept_chat"] is False


def test_performance(tts: World) -> None:
    # Two days from today (UTC): a run across midnight still counts both sessions.
    today = datetime.datetime.now(tz=datetime.UTC).date()
    cid, _ = tts.sim.buyer_message(SHOP_ID, buyer_user_id=BUYER, nickname="Emily R.", text="Hi")
    tts.sim.buyer_message(SHOP_ID, buyer_user_id=OTHER_BUYER, nickname="Wang F.", text="Hello")
    tts.shop.customer_service.send_message(
        cid,
        body=m.SendMessageRequest(
            type_=m.SendMessageRequestType.TEXT, content=json.dumps({"content": "Hello!"})
        ),
    )

    raw = tts.answer(
        "performance",
        lambda: tts.shop.customer_service.get_customer_service_performance(
            support_date_ge=today, support_date_lt=today + datetime.timedelta(days=2)
        ),
        m.GetCustomerServicePerformanceResponse,
    )

    performance = raw["data"]["performance"]
    # Every field the current version carries (conversion_rate, cs_guided_gmv, currency too).
    assert set(performance) == set(
        strict_models.fields_of(m.GetCustomerServicePerformanceResponseDataPerformance)
    )
    assert performance["support_session_count"] == 2


# --- webhook subscriptions ----------------------------------------------------------------------
def test_webhook_subscriptions(tts: World) -> None:
    event = tts.shop.event
    kinds = m.UpdateShopWebhookRequestEventType
    for kind in (kinds.NEW_MESSAGE, kinds.RETURN_STATUS_CHANGE):
        tts.answer(
            f"update shop webhook {kind.value}",
            lambda kind=kind: event.update_shop_webhook(
                body=m.UpdateShopWebhookRequest(
                    address="https://seller.example.com/webhooks/tiktok", event_type=kind
                )
            ),
            m.UpdateShopWebhookResponse,
        )
    listed = tts.answer("shop webhooks", event.get_shop_webhooks, m.GetShopWebhooksResponse)
    for n, hook in enumerate(listed["data"]["webhooks"]):
        in_domain(hook["event_type"], kinds, f"webhooks[{n}].event_type")
    assert {h["event_type"] for h in listed["data"]["webhooks"]} == {
        "NEW_MESSAGE",
        "RETURN_STATUS_CHANGE",
    }

    tts.answer(
        "delete webhook",
        lambda: event.delete_webhook_for_an_event(
            body=m.DeleteWebhookForAnEventRequest(
                event_type=m.DeleteWebhookForAnEventRequestEventType.NEW_MESSAGE
            )
        ),
        m.DeleteWebhookForAnEventResponse,
    )

    left = tts.answer("shop webhooks", event.get_shop_webhooks, m.GetShopWebhooksResponse)
    assert [h["event_type"] for h in left["data"]["webhooks"]] == ["RETURN_STATUS_CHANGE"]
