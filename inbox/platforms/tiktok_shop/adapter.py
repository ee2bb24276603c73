"""TikTok Shop behind the platform interface of ``inbox/platforms/base.py``.

Converts the Open API's customer-service objects into the base dataclasses and parses and
verifies webhooks. All HTTP goes through :class:`~inbox.platforms.tiktok_shop.client.
TikTokShopClient`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from inbox.platforms.base import (
    AfterSalesLine,
    AuthorizedShop,
    Credentials,
    InvalidPlatformId,
    MalformedWebhook,
    OutgoingMessage,
    Page,
    Participant,
    PlatformAfterSales,
    PlatformConversation,
    PlatformMessage,
    PlatformOrder,
    PlatformOrderLine,
    TokenKeeper,
    TokenSet,
    TransientError,
    WebhookNotice,
    is_platform_id,
    platform_id,
)
from inbox.platforms.tiktok_shop import signing
from inbox.platforms.tiktok_shop.client import TikTokShopClient
from scrm.http import RetryRules

logger = logging.getLogger(__name__)

# The newest version of each call (docs/platforms/tiktok-shop.md, "API versions").
CS = "/customer_service/202309"
SEND_MESSAGE_PATH = "/customer_service/202606/conversations/{conversation_id}/messages"
SHOPS_PATH = "/authorization/202309/shops"
RETURNS_SEARCH_PATH = "/return_refund/202602/returns/search"
CANCELLATIONS_SEARCH_PATH = "/return_refund/202602/cancellations/search"
ORDERS_PATH = "/order/202507/orders"

MAX_TEXT_LENGTH = 2000
MAX_CONVERSATIONS_PAGE = 20
MAX_MESSAGES_PAGE = 10
MAX_SEARCH_PAGE = 50  # returns and cancellations: 10-50 (returns), 1-50 (cancellations)
MIN_RETURNS_PAGE = 10
MAX_ORDER_IDS = 50  # Get Order Detail: at most 50 ids a call

# Sendable types and the content keys each requires (docs/platforms/tiktok-shop.md §2).
SENDABLE: dict[str, tuple[str, ...]] = {
    "TEXT": ("content",),
    "IMAGE": ("url", "width", "height"),
    "PRODUCT_CARD": ("product_id",),
    "ORDER_CARD": ("order_id",),
    "RETURN_REFUND_CARD": ("order_id", "sku_id"),
    "COUPON_CARD": ("coupon_id",),
    "VIDEO": ("vid",),  # since Send Message 202606
    "LOGISTICS_CARD": ("order_id",),  # since 202606; package_id optional
}

# Webhook ``type`` -> our kind (§3).
WEBHOOK_KINDS: dict[int, str] = {
    14: "new_message",
    13: "new_conversation",
    12: "return_status",
    11: "cancellation_status",
    6: "deauthorization",
    7: "authorization_expiring",
}


class TikTokShopApi:
    """Customer-service calls on one authorised shop (implements ``base.ShopApi``)."""

    def __init__(self, client: TikTokShopClient) -> None:
        self.client = client

    @property
    def credentials(self) -> Credentials:
        # The client swaps in refreshed credentials; always report the current ones.
        return self.client.credentials

    @credentials.setter
    def credentials(self, value: Credentials) -> None:
        self.client.credentials = value

    def close(self) -> None:
        self.client.close()

    def list_conversations(
        self, *, page_token: str = "", page_size: int = 20
    ) -> Page[PlatformConversation]:
        data = self.client.call(
            "GET",
            f"{CS}/conversations",
            params={
                "page_size": _clamp(page_size, MAX_CONVERSATIONS_PAGE),
                "page_token": page_token,
            },
        )
        items = [conversation_from(c) for c in _dicts(data.get("conversations"))]
        valid = [c for c in items if is_platform_id(c.conversation_id)]
        _warn_skipped("conversations", len(items) - len(valid))
        return Page(items=valid, next_page_token=str(data.get("next_page_token") or ""))

    def list_messages(
        self,
        conversation_id: str,
        *,
        page_token: str = "",
        page_size: int = 10,
        newest_first: bool = True,
    ) -> Page[PlatformMessage]:
        data = self.client.call(
            "GET",
            f"{CS}/conversations/{_path_id(conversation_id)}/messages",
            params={
                "page_size": _clamp(page_size, MAX_MESSAGES_PAGE),
                "page_token": page_token,
                "sort_order": "DESC" if newest_first else "ASC",
                "sort_field": "create_time",
            },
        )
        items = [message_from(m, conversation_id) for m in _dicts(data.get("messages"))]
        valid = [m for m in items if is_platform_id(m.message_id)]
        _warn_skipped("messages", len(items) - len(valid))
        return Page(items=valid, next_page_token=str(data.get("next_page_token") or ""))

    def send_message(self, conversation_id: str, message: OutgoingMessage) -> str:
        validate_outgoing(message)
        data = self.client.call(
            "POST",
            SEND_MESSAGE_PATH.format(conversation_id=_path_id(conversation_id)),
            body={
                "type": message.type,
                "content": json.dumps(message.content, ensure_ascii=False),
                # An agent typed it: TikTok's "messages replied by real customer service".
                "sender_role": "CUSTOMER_SERVICE",
            },
            idempotent=False,  # sending twice would deliver twice
        )
        message_id = str(data.get("message_id") or "")
        if not message_id:
            # Success without an id: we cannot tell our message from another; the caller looks
            # for it on the platform before any new attempt.
            raise TransientError("TikTok Shop send: success without a message_id")
        return message_id

    def mark_read(self, conversation_id: str) -> None:
        self.client.call(
            "POST",
            f"{CS}/conversations/{_path_id(conversation_id)}/messages/read",
            idempotent=True,  # reading twice changes nothing
        )

    # --- after-sales and orders (docs/platforms/tiktok-shop.md §4) --------------------------
    def search_returns(
        self,
        *,
        return_ids: Sequence[str] = (),
        update_time_ge: int | None = None,
        page_token: str = "",
        page_size: int = MAX_SEARCH_PAGE,
    ) -> Page[PlatformAfterSales]:
        data = self._search(
            RETURNS_SEARCH_PATH,
            ids=("return_ids", return_ids),
            update_time_ge=update_time_ge,
            page_token=page_token,
            page_size=max(MIN_RETURNS_PAGE, _clamp(page_size, MAX_SEARCH_PAGE)),
        )
        items = [return_from(r) for r in _dicts(data.get("return_orders"))]
        return _valid_cases(items, "returns", data)

    def search_cancellations(
        self,
        *,
        cancel_ids: Sequence[str] = (),
        update_time_ge: int | None = None,
        page_token: str = "",
        page_size: int = MAX_SEARCH_PAGE,
    ) -> Page[PlatformAfterSales]:
        data = self._search(
            CANCELLATIONS_SEARCH_PATH,
            ids=("cancel_ids", cancel_ids),
            update_time_ge=update_time_ge,
            page_token=page_token,
            page_size=_clamp(page_size, MAX_SEARCH_PAGE),
        )
        items = [cancellation_from(c) for c in _dicts(data.get("cancellations"))]
        return _valid_cases(items, "cancellations", data)

    def _search(
        self,
        path: str,
        *,
        ids: tuple[str, Sequence[str]],
        update_time_ge: int | None,
        page_token: str,
        page_size: int,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if ids[1]:
            body[ids[0]] = [platform_id(i, ids[0]) for i in ids[1]]
        if update_time_ge is not None:
            body["update_time_ge"] = int(update_time_ge)
        return self.client.call(
            "POST",
            path,
            params={
                "page_size": page_size,
                "page_token": page_token,
                "sort_field": "update_time",
                "sort_order": "ASC",
            },
            body=body,
            idempotent=True,  # a search changes nothing
        )

    def get_orders(self, order_ids: Sequence[str]) -> list[PlatformOrder]:
        wanted = list(dict.fromkeys(platform_id(i, "order_id") for i in order_ids))
        orders: list[PlatformOrder] = []
        for start in range(0, len(wanted), MAX_ORDER_IDS):
            chunk = wanted[start : start + MAX_ORDER_IDS]
            data = self.client.call("GET", ORDERS_PATH, params={"ids": ",".join(chunk)})
            found = [order_from(o) for o in _dicts(data.get("orders"))]
            valid = [o for o in found if is_platform_id(o.order_id)]
            _warn_skipped("orders", len(found) - len(valid))
            orders += valid
        return orders


class TikTokShopAdapter:
    """The TikTok Shop platform (implements ``base.PlatformAdapter``).

    Base URLs default to the ``TIKTOK_API_BASE`` / ``TIKTOK_AUTH_BASE`` settings, read when the
    first call is made.
    """

    name = "tiktok_shop"
    max_text_length = MAX_TEXT_LENGTH

    def __init__(
        self,
        *,
        api_base: str | None = None,
        auth_base: str | None = None,
        retry: RetryRules | None = None,
        timeout: httpx.Timeout | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_base = api_base
        self.auth_base = auth_base
        self.retry = retry
        self.timeout = timeout
        self.sleep = sleep

    def _client(
        self,
        credentials: Credentials,
        on_tokens_refreshed: Callable[[Credentials], None] | None = None,
        token_keeper: TokenKeeper | None = None,
    ) -> TikTokShopClient:
        return TikTokShopClient(
            credentials,
            api_base=self.api_base,
            auth_base=self.auth_base,
            on_tokens_refreshed=on_tokens_refreshed,
            token_keeper=token_keeper,
            retry=self.retry,
            timeout=self.timeout,
            sleep=self.sleep,
        )

    def connect(
        self,
        credentials: Credentials,
        on_tokens_refreshed: Callable[[Credentials], None] | None = None,
        token_keeper: TokenKeeper | None = None,
    ) -> TikTokShopApi:
        return TikTokShopApi(self._client(credentials, on_tokens_refreshed, token_keeper))

    def webhook_shop_id(self, body: bytes) -> str:
        return webhook_shop_id(body)

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        return parse_webhook(body)

    def verify_webhook(
        self, credentials: Credentials, headers: Mapping[str, str], body: bytes
    ) -> bool:
        authorization = _header(headers, "Authorization")
        return signing.verify_webhook(
            credentials.app_key, credentials.app_secret, body, authorization
        )

    def exchange_auth_code(self, app_key: str, app_secret: str, auth_code: str) -> TokenSet:
        with self._client(Credentials(app_key=app_key, app_secret=app_secret)) as client:
            return client.exchange_auth_code(auth_code)

    def authorized_shops(self, credentials: Credentials) -> list[AuthorizedShop]:
        with self._client(credentials) as client:
            data = client.call("GET", SHOPS_PATH)
        return [
            AuthorizedShop(
                shop_id=str(s.get("id") or ""),
                cipher=str(s.get("cipher") or ""),
                name=str(s.get("name") or ""),
                region=str(s.get("region") or ""),
                code=str(s.get("code") or ""),
                seller_type=str(s.get("seller_type") or ""),
            )
            for s in _dicts(data.get("shops"))
        ]


# --- conversions -----------------------------------------------------------------------------
def validate_outgoing(message: OutgoingMessage) -> None:
    """Raise ValueError for a message TikTok would refuse (checked before any HTTP)."""
    required = SENDABLE.get(message.type)
    if required is None:
        raise ValueError(f"TikTok Shop cannot send messages of type {message.type!r}")
    missing = [key for key in required if message.content.get(key) in (None, "")]
    if missing:
        raise ValueError(f"{message.type} message needs {', '.join(missing)}")
    if message.type == "TEXT":
        text = message.content["content"]
        if not isinstance(text, str):
            raise ValueError("TEXT content must be a string")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(
                f"TEXT message is {len(text)} characters; TikTok Shop allows {MAX_TEXT_LENGTH}"
            )


def participant_from(raw: Mapping[str, Any]) -> Participant:
    return Participant(
        role=str(raw.get("role") or ""),
        im_user_id=str(raw.get("im_user_id") or ""),
        user_id=str(raw.get("user_id") or ""),
        nickname=str(raw.get("nickname") or ""),
        avatar=str(raw.get("avatar") or ""),
    )


def message_from(raw: Mapping[str, Any], conversation_id: str) -> PlatformMessage:
    sender = raw.get("sender")
    return PlatformMessage(
        message_id=str(raw.get("id") or ""),
        conversation_id=conversation_id,
        type=str(raw.get("type") or ""),
        content=decode_content(raw.get("content")),
        create_time=utc_from_unix(raw.get("create_time")),
        sender=participant_from(sender if isinstance(sender, dict) else {}),
        index=str(raw.get("index") or ""),
        is_visible=bool(raw.get("is_visible", True)),
    )


def conversation_from(raw: Mapping[str, Any]) -> PlatformConversation:
    conversation_id = str(raw.get("id") or "")
    buyer = next(
        (
            participant_from(p)
            for p in _dicts(raw.get("participants"))
            if p.get("role") == "BUYER" and p.get("user_id")
        ),
        None,
    )
    latest = raw.get("latest_message")
    return PlatformConversation(
        conversation_id=conversation_id,
        create_time=utc_from_unix(raw.get("create_time")),
        buyer=buyer,
        unread_count=_int(raw.get("unread_count")),
        latest_message=(
            message_from(latest, conversation_id) if isinstance(latest, dict) and latest else None
        ),
        can_send_message=bool(raw.get("can_send_message", True)),
    )


def _money(value: Any) -> tuple[str, str]:
    """(total, currency) of a RefundAmount."""
    money = value if isinstance(value, dict) else {}
    return str(money.get("refund_total") or "0"), str(money.get("currency") or "")


def _lines(raw: Any, id_key: str) -> tuple[AfterSalesLine, ...]:
    lines = []
    for line in _dicts(raw):
        total, currency = _money(line.get("refund_amount"))
        image = line.get("product_image")
        lines.append(
            AfterSalesLine(
                line_item_id=str(line.get(id_key) or ""),
                order_line_item_id=str(line.get("order_line_item_id") or ""),
                sku_id=str(line.get("sku_id") or ""),
                sku_name=str(line.get("sku_name") or ""),
                product_name=str(line.get("product_name") or ""),
                seller_sku=str(line.get("seller_sku") or ""),
                image_url=str(image.get("url") or "") if isinstance(image, dict) else "",
                refund_total=total,
                currency=currency,
            )
        )
    return tuple(lines)


def _next_action(raw: Any) -> tuple[str, datetime | None]:
    """The seller's first pending action and its deadline (the earliest one named)."""
    actions = [a for a in _dicts(raw) if _int(a.get("deadline"))]
    if not actions:
        return "", None
    first = min(actions, key=lambda a: _int(a.get("deadline")))
    return str(first.get("action") or ""), utc_from_unix(first.get("deadline"))


def return_from(raw: Mapping[str, Any]) -> PlatformAfterSales:
    total, currency = _money(raw.get("refund_amount"))
    action, deadline = _next_action(raw.get("seller_next_action_response"))
    extra = {
        key: raw[key]
        for key in (
            "is_quick_refund",
            "partial_refund",
            "seller_proposed_return_type",
            "can_buyer_keep_item",
            "return_method",
        )
        if key in raw
    }
    return PlatformAfterSales(
        family="return",
        case_id=str(raw.get("return_id") or ""),
        order_id=str(raw.get("order_id") or ""),
        type=str(raw.get("return_type") or ""),
        status=str(raw.get("return_status") or ""),
        role=str(raw.get("role") or ""),
        reason=str(raw.get("return_reason") or ""),
        reason_text=str(raw.get("return_reason_text") or ""),
        refund_total=total,
        currency=currency,
        lines=_lines(raw.get("return_line_items"), "return_line_item_id"),
        seller_deadline=deadline,
        seller_action=action,
        arbitration_status=str(raw.get("arbitration_status") or ""),
        create_time=utc_from_unix(raw.get("create_time")),
        update_time=utc_from_unix(raw.get("update_time")),
        extra=extra,
    )


def cancellation_from(raw: Mapping[str, Any]) -> PlatformAfterSales:
    total, currency = _money(raw.get("refund_amount"))
    action, deadline = _next_action(raw.get("seller_next_action_response"))
    return PlatformAfterSales(
        family="cancellation",
        case_id=str(raw.get("cancel_id") or ""),
        order_id=str(raw.get("order_id") or ""),
        type=str(raw.get("cancel_type") or ""),
        status=str(raw.get("cancel_status") or ""),
        role=str(raw.get("role") or ""),
        reason=str(raw.get("cancel_reason") or ""),
        reason_text=str(raw.get("cancel_reason_text") or ""),
        refund_total=total,
        currency=currency,
        lines=_lines(raw.get("cancel_line_items"), "cancel_line_item_id"),
        seller_deadline=deadline,
        seller_action=action,
        arbitration_status="",
        create_time=utc_from_unix(raw.get("create_time")),
        update_time=utc_from_unix(raw.get("update_time")),
        extra={"should_replenish_stock": raw["should_replenish_stock"]}
        if "should_replenish_stock" in raw
        else {},
    )


def order_from(raw: Mapping[str, Any]) -> PlatformOrder:
    """An order without its recipient: name, phone, address and e-mail are not read."""
    raw_payment = raw.get("payment")
    payment: Mapping[str, Any] = raw_payment if isinstance(raw_payment, dict) else {}
    currency = str(payment.get("currency") or "")
    return PlatformOrder(
        order_id=str(raw.get("id") or ""),
        status=str(raw.get("status") or ""),
        buyer_user_id=str(raw.get("user_id") or ""),
        currency=currency,
        total_amount=str(payment.get("total_amount") or "0"),
        lines=tuple(
            PlatformOrderLine(
                line_item_id=str(line.get("id") or ""),
                sku_id=str(line.get("sku_id") or ""),
                product_id=str(line.get("product_id") or ""),
                product_name=str(line.get("product_name") or ""),
                sku_name=str(line.get("sku_name") or ""),
                sale_price=str(line.get("sale_price") or "0"),
                currency=str(line.get("currency") or currency),
            )
            for line in _dicts(raw.get("line_items"))
        ),
        create_time=utc_from_unix(raw.get("create_time")),
        update_time=utc_from_unix(raw.get("update_time")),
    )


def _valid_cases(
    items: list[PlatformAfterSales], what: str, data: Mapping[str, Any]
) -> Page[PlatformAfterSales]:
    valid = [c for c in items if is_platform_id(c.case_id)]
    _warn_skipped(what, len(items) - len(valid))
    return Page(items=valid, next_page_token=str(data.get("next_page_token") or ""))


def decode_content(value: Any) -> dict[str, Any]:
    """``content`` is a JSON-serialised string; keep an undecodable one as ``{"content": s}``."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or value == "":
        return {}
    try:
        decoded = json.loads(value)
    except ValueError:
        return {"content": value}
    return decoded if isinstance(decoded, dict) else {"content": decoded}


def utc_from_unix(value: Any) -> datetime:
    return datetime.fromtimestamp(_int(value), tz=UTC)


# --- webhooks --------------------------------------------------------------------------------
# TikTok's notifications nest three levels; a body nested deeper is refused before it is
# parsed (a thousand levels would exhaust the parser's recursion: a 500, not a 400).
MAX_WEBHOOK_DEPTH = 16
MAX_TYPE_CODE = 2**31 - 1  # a 32-bit column
_TYPE_DIGITS = re.compile(r"[0-9]{1,10}")
# A JSON string literal, or an unterminated one up to the end (never a failed match, so the
# scan stays linear whatever the body).
_STRING_LITERAL = re.compile(rb'"(?:[^"\\]|\\[\s\S]|\\\Z)*(?:"|\Z)')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# Ids in ``data`` that name a platform object; the calls that act on the notification put
# them into URLs and signatures.
_DATA_IDS = ("conversation_id", "message_id", "return_id", "cancel_id", "order_id")


def _nested_too_deep(body: bytes) -> bool:
    """Whether the JSON arrays and objects of ``body`` nest deeper than MAX_WEBHOOK_DEPTH
    (brackets inside strings do not count); linear in the body, without recursion. Unbalanced
    brackets count as too deep: such a body is not JSON anyway."""
    brackets = _STRING_LITERAL.sub(b"", body).translate(None, _NOT_BRACKET)
    if len(brackets) <= MAX_WEBHOOK_DEPTH:
        return False
    # Each pass removes the innermost pairs: what is left after MAX_WEBHOOK_DEPTH passes
    # nests deeper.
    for _ in range(MAX_WEBHOOK_DEPTH):
        inner_removed = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if inner_removed == brackets:
            break
        brackets = inner_removed
    return bool(brackets)


def _webhook_envelope(body: bytes) -> tuple[dict[str, Any], int, str]:
    """(payload, type code, shop id): what finding the shop's key needs, checked."""
    if _nested_too_deep(body):
        raise MalformedWebhook("webhook body is nested too deep")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedWebhook("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedWebhook("webhook body is not a JSON object")
    type_code = payload.get("type")
    # ASCII digits only: "²".isdigit() is true, but int("²") fails.
    if isinstance(type_code, str) and _TYPE_DIGITS.fullmatch(type_code):
        type_code = int(type_code)
    if not isinstance(type_code, int) or isinstance(type_code, bool):
        raise MalformedWebhook("webhook without a numeric type")
    try:
        shop_id = platform_id(payload.get("shop_id"), "shop_id")
    except InvalidPlatformId:
        raise MalformedWebhook("webhook without a valid shop_id") from None
    return payload, type_code, shop_id


def webhook_shop_id(body: bytes) -> str:
    """The shop id of a notification, before its signature is checked; MalformedWebhook if
    the body is not one (too deep, not JSON, no numeric type, no valid shop id)."""
    return _webhook_envelope(body)[2]


def parse_webhook(body: bytes) -> WebhookNotice:
    """A WebhookNotice from a raw body; MalformedWebhook if it is not a TikTok notification.

    Older notifications have no ``tts_notification_id``: the id is then the SHA-256 of the raw
    body, so a redelivery of the same body dedupes. An id in ``data`` that is not a platform id
    makes a notice with a ``problem``: it is signed and well formed, but can never be acted on.
    """
    payload, type_code, shop_id = _webhook_envelope(body)
    if not 0 <= type_code <= MAX_TYPE_CODE:
        raise MalformedWebhook("webhook type out of range")
    raw_id = payload.get("tts_notification_id")
    if raw_id in (None, ""):
        notification_id = hashlib.sha256(body).hexdigest()
    else:
        try:
            notification_id = platform_id(raw_id, "tts_notification_id")
        except InvalidPlatformId:
            raise MalformedWebhook("webhook with an invalid tts_notification_id") from None
    data = payload.get("data")
    if isinstance(data, str):  # tolerate a JSON-serialised data object
        data = decode_content(data)
    if not isinstance(data, dict):
        data = {}
    problem = ""
    ids: dict[str, str] = {}
    for key in _DATA_IDS:
        if data.get(key) in (None, ""):
            continue
        try:
            ids[key] = platform_id(data[key], key)
        except InvalidPlatformId as exc:
            problem = problem or str(exc)
    if problem:
        ids = {}  # none of them is acted on
    return WebhookNotice(
        notification_id=notification_id,
        kind=WEBHOOK_KINDS.get(type_code, "unknown"),
        type_code=type_code,
        shop_id=shop_id,
        timestamp=_int(payload.get("timestamp")),
        data=data,
        conversation_id=ids.get("conversation_id", ""),
        message_id=ids.get("message_id", ""),
        return_id=ids.get("return_id", ""),
        cancellation_id=ids.get("cancel_id", ""),
        order_id=ids.get("order_id", ""),
        problem=problem,
    )


# --- helpers ---------------------------------------------------------------------------------
def _warn_skipped(what: str, count: int) -> None:
    # A platform object whose id could never be stored, put in a URL or signed is left out
    # of the page (one bad row must not stop a sync for ever); the count only, no content.
    if count:
        logger.warning("tiktok_shop: %d %s without a valid platform id skipped", count, what)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _clamp(page_size: int, maximum: int) -> int:
    return max(1, min(int(page_size), maximum))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _path_id(value: str, what: str = "conversation_id") -> str:
    """A platform id for a URL path; InvalidPlatformId (never retried) for anything that would
    change the signed path or could not be signed ("../x", "\\ud800", a NUL)."""
    return platform_id(value, what)
