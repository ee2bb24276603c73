"""The Open API's business handlers: ``handler(sim, call) -> data`` or raise ApiError.

Token handlers take the raw query instead of a checked call (those endpoints are unsigned).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from inbox.platforms.tiktok_shop.simulator.paging import page_size, paginate
from inbox.platforms.tiktok_shop.simulator.state import (
    CODE_CONFLICT,
    CODE_INVALID_AUTH_CODE,
    CODE_INVALID_REQUEST,
    CODE_NOT_FOUND,
    EVENT_TYPES,
    MAX_TEXT_LENGTH,
    ApiError,
    Conversation,
    Grant,
    Message,
    Shop,
    bad_param,
)

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.api import Call
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

REQUIRED_CONTENT_FIELDS = {
    "TEXT": ("content",),
    "IMAGE": ("url", "width", "height"),
    "PRODUCT_CARD": ("product_id",),
    "ORDER_CARD": ("order_id",),
    "RETURN_REFUND_CARD": ("order_id", "sku_id"),
    "COUPON_CARD": ("coupon_id",),
}
# Send Message 202606 adds video and logistics cards, and who is sending.
REQUIRED_CONTENT_FIELDS_202606 = {
    **REQUIRED_CONTENT_FIELDS,
    "VIDEO": ("vid",),
    "LOGISTICS_CARD": ("order_id",),
}
SENDER_ROLES = frozenset({"CUSTOMER_SERVICE", "SYSTEM", "ROBOT"})
THIRTY_DAYS = 30 * 86400
SIXTY_DAYS = 60 * 86400


def _shop(call: Call) -> Shop:
    assert call.shop is not None  # noqa: S101 - shop-scoped routes always carry one
    return call.shop


def _conversation(sim: Simulator, call: Call) -> Conversation:
    conversation = sim.conversations.get(call.path_params["conversation_id"])
    if conversation is None or conversation.shop_id != _shop(call).shop_id:
        raise ApiError(404, CODE_NOT_FOUND, "The conversation does not exist.")
    return conversation


# --- auth --------------------------------------------------------------------------------------
def _token_app(sim: Simulator, q: dict[str, str], grant_type: str) -> str:
    app = sim.apps.get(q.get("app_key", ""))
    if app is None or q.get("app_secret", "") != app.app_secret:
        raise ApiError(401, CODE_INVALID_REQUEST, "Invalid app_key or app_secret.")
    if q.get("grant_type") != grant_type:
        raise bad_param(f"grant_type must be {grant_type}.")
    return app.app_key


def _token_data(sim: Simulator, grant: Grant) -> dict[str, Any]:
    first = sim.shops[grant.shop_ids[0]] if grant.shop_ids else None
    return grant.to_api(first.name if first else "", first.region if first else "")


def token_get(sim: Simulator, q: dict[str, str]) -> dict[str, Any]:
    with sim.lock:
        app_key = _token_app(sim, q, "authorized_code")
        code = sim.auth_codes.get(q.get("auth_code", ""))
        if code is None or code.used or code.app_key != app_key or code.expires < sim.clock():
            raise ApiError(400, CODE_INVALID_AUTH_CODE, "Invalid auth code.")
        code.used = True
        return _token_data(sim, sim._new_grant(app_key, code.shop_ids))


def token_refresh(sim: Simulator, q: dict[str, str]) -> dict[str, Any]:
    with sim.lock:
        app_key = _token_app(sim, q, "refresh_token")
        old = sim.grants_by_refresh.get(q.get("refresh_token", ""))
        if (
            old is None
            or not old.refresh_valid
            or old.app_key != app_key
            or old.refresh_expires <= sim.clock()
        ):
            raise ApiError(400, CODE_INVALID_AUTH_CODE, "Invalid refresh_token.")
        old.access_valid = old.refresh_valid = False
        grant = sim._new_grant(app_key, old.shop_ids, open_id=old.open_id)
        return _token_data(sim, grant)


def shops(sim: Simulator, call: Call) -> dict[str, Any]:
    with sim.lock:
        return {"shops": [sim.shops[s].to_api() for s in call.grant.shop_ids if s in sim.shops]}


# --- conversations and messages -----------------------------------------------------------------
def _can_send(sim: Simulator, conversation: Conversation) -> bool:
    if conversation.opened_by_shop:
        return True
    last = conversation.last_buyer_time()
    if last is not None and last >= sim.clock() - THIRTY_DAYS:
        return True
    buyer_id = conversation.buyer.user_id
    if any(
        o.shop_id == conversation.shop_id
        and o.buyer_user_id == buyer_id
        and o.create_time >= sim.clock() - SIXTY_DAYS
        for o in sim.orders.values()
    ):
        return True
    return any(
        r.shop_id == conversation.shop_id and r.buyer_user_id == conversation.buyer.user_id
        for r in sim.returns.values()
    )


def conversation_to_api(sim: Simulator, conversation: Conversation) -> dict[str, Any]:
    shop = sim.shops[conversation.shop_id]
    data: dict[str, Any] = {
        "id": conversation.id,
        "create_time": conversation.create_time,
        "unread_count": conversation.unread_count,
        "participant_count": 2,
        "participants": [
            conversation.buyer.participant(),
            {
                "user_id": "",
                "im_user_id": shop.im_user_id,
                "nickname": shop.name,
                "avatar": f"https://example.com/tiktok-simulator/avatar/{shop.im_user_id}.png",
                "role": "SHOP",
            },
        ],
        "can_send_message": _can_send(sim, conversation),
    }
    if conversation.messages:  # absent, not null, before the first message
        data["latest_message"] = conversation.messages[-1].to_api()
    return data


def conversations_list(sim: Simulator, call: Call) -> dict[str, Any]:
    size = page_size(call.query, low=1, high=20, default=None)
    with sim.lock:
        shop_id = _shop(call).shop_id
        items = sorted(
            sim.shop_conversations(shop_id),
            key=lambda c: (c.last_activity, int(c.id)),
            reverse=True,
        )
        page, token = paginate(
            items,
            lambda c: [c.last_activity, int(c.id)],
            size,
            call.query.get("page_token", ""),
            descending=True,
        )
        return {
            "conversations": [conversation_to_api(sim, c) for c in page],
            "next_page_token": token,
        }


def conversation_create(sim: Simulator, call: Call) -> dict[str, Any]:
    buyer_user_id = call.body.get("buyer_user_id") if isinstance(call.body, dict) else None
    if not isinstance(buyer_user_id, str) or not buyer_user_id:
        raise bad_param("buyer_user_id is required.")
    with sim.lock:
        nickname = "user" + buyer_user_id[-6:]
        conversation, _ = sim._conversation_for(_shop(call), buyer_user_id, nickname)
        conversation.opened_by_shop = True  # reopens a finished or closed one, same ID
        return {"conversation_id": conversation.id}


def messages_list(sim: Simulator, call: Call) -> dict[str, Any]:
    size = page_size(call.query, low=1, high=10, default=None)
    order = call.query.get("sort_order", "DESC") or "DESC"
    field = call.query.get("sort_field", "create_time") or "create_time"
    if order not in ("ASC", "DESC"):
        raise bad_param("sort_order must be ASC or DESC.")
    if field not in ("create_time", "index"):
        raise bad_param("sort_field must be create_time or index.")

    def key(m: Message) -> list[int]:
        return [m.create_time if field == "create_time" else int(m.index), int(m.id)]

    with sim.lock:
        conversation = _conversation(sim, call)
        items = sorted(conversation.messages, key=key, reverse=order == "DESC")
        page, token = paginate(
            items, key, size, call.query.get("page_token", ""), descending=order == "DESC"
        )
        return {
            "messages": [m.to_api() for m in page],
            "next_page_token": token,
            "unsupported_msg_tips": "Please check this message in Seller Center.\n",
        }


def _outgoing_content(
    body: Any, required: dict[str, tuple[str, ...]]
) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise bad_param("The body must be a JSON object.")
    type_ = body.get("type")
    if type_ not in required:
        raise bad_param(f"type must be one of {', '.join(sorted(required))}.")
    raw = body.get("content")
    if not isinstance(raw, str):
        raise bad_param("content must be a JSON-serialized string.")
    try:
        content = json.loads(raw)
    except ValueError as exc:
        raise bad_param("content is not valid JSON.") from exc
    if not isinstance(content, dict):
        raise bad_param("content must encode a JSON object.")
    for name in required[type_]:
        if content.get(name) in (None, ""):
            raise bad_param(f"content.{name} is required for {type_}.")
    if type_ == "TEXT":
        text = content["content"]
        if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
            raise bad_param(f"A TEXT message is at most {MAX_TEXT_LENGTH} characters.")
    return type_, content


def message_send_202309(sim: Simulator, call: Call) -> dict[str, Any]:
    type_, content = _outgoing_content(call.body, REQUIRED_CONTENT_FIELDS)
    return _send(sim, call, type_, content, "SHOP")


def message_send_202606(sim: Simulator, call: Call) -> dict[str, Any]:
    """Adds VIDEO and LOGISTICS_CARD, and ``sender_role`` (the message's sender role; SHOP
    when not given)."""
    type_, content = _outgoing_content(call.body, REQUIRED_CONTENT_FIELDS_202606)
    role = call.body.get("sender_role", "SHOP")
    if role != "SHOP" and role not in SENDER_ROLES:
        raise bad_param(f"sender_role must be one of {', '.join(sorted(SENDER_ROLES))}.")
    return _send(sim, call, type_, content, str(role))


def _send(
    sim: Simulator, call: Call, type_: str, content: dict[str, Any], role: str
) -> dict[str, Any]:
    with sim.lock:
        conversation = _conversation(sim, call)
        if not _can_send(sim, conversation):
            raise ApiError(
                409, CODE_CONFLICT, "The shop cannot send messages in this conversation."
            )
        shop = _shop(call)
        message = sim._append(conversation, role, shop.im_user_id, shop.name, type_, content)
        sim.sent.append(
            {
                "shop_id": shop.shop_id,
                "conversation_id": conversation.id,
                "message_id": message.id,
                "type": type_,
                "content": content,
                "create_time": message.create_time,
            }
        )
        if sim.echo_shop_messages:
            sim._queue_event(shop, "NEW_MESSAGE", message.to_webhook())
        return {"message_id": message.id}


def read(sim: Simulator, call: Call) -> dict[str, Any]:
    with sim.lock:
        conversation = _conversation(sim, call)
        conversation.read_upto = len(conversation.messages)
        return {}


def agent_settings_get(sim: Simulator, call: Call) -> dict[str, Any]:
    with sim.lock:
        return {"can_accept_chat": _shop(call).can_accept_chat}


def agent_settings_put(sim: Simulator, call: Call) -> dict[str, Any]:
    value = call.body.get("can_accept_chat") if isinstance(call.body, dict) else None
    if not isinstance(value, bool):
        raise bad_param("can_accept_chat must be a boolean.")
    with sim.lock:
        _shop(call).can_accept_chat = value
        return {}


# --- webhooks subscriptions ---------------------------------------------------------------------
def webhooks_get(sim: Simulator, call: Call) -> dict[str, Any]:
    with sim.lock:
        hooks = [
            {
                "address": s.address,
                "create_time": s.create_time,
                "event_type": s.event_type,
                "update_time": s.update_time,
            }
            for s in _shop(call).webhooks.values()
        ]
    return {"webhooks": hooks, "total_count": len(hooks)}


def _event_type(body: Any) -> str:
    event_type = body.get("event_type") if isinstance(body, dict) else None
    if event_type not in EVENT_TYPES:
        raise bad_param("event_type is not a known event type.")
    return str(event_type)


def webhooks_put(sim: Simulator, call: Call) -> dict[str, Any]:
    event_type = _event_type(call.body)
    address = call.body.get("address")
    if not isinstance(address, str) or not address or len(address) > 255:
        raise bad_param("address is required, at most 255 characters.")
    with sim.lock:
        sim._subscribe(_shop(call), event_type, address)
    return {}


def webhooks_delete(sim: Simulator, call: Call) -> dict[str, Any]:
    event_type = _event_type(call.body)
    with sim.lock:
        _shop(call).webhooks.pop(event_type, None)
    return {}
