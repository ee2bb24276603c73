"""TikTok Shop webhooks: finding the shop, parsing and checking a notification
(docs/platforms/tiktok-shop.md §3)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from inbox.platforms.base import InvalidPlatformId, MalformedWebhook, WebhookNotice, platform_id
from inbox.platforms.tiktok_shop.adapter_common import as_int, decode_content

# Webhook ``type`` -> our kind (§3).
WEBHOOK_KINDS: dict[int, str] = {
    14: "new_message",
    13: "new_conversation",
    12: "return_status",
    11: "cancellation_status",
    6: "deauthorization",
    7: "authorization_expiring",
}

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
        timestamp=as_int(payload.get("timestamp")),
        data=data,
        conversation_id=ids.get("conversation_id", ""),
        message_id=ids.get("message_id", ""),
        return_id=ids.get("return_id", ""),
        cancellation_id=ids.get("cancel_id", ""),
        order_id=ids.get("order_id", ""),
        problem=problem,
    )
