"""TikTok Shop customer-service chat: conversations, messages, sending and reading
(docs/platforms/tiktok-shop.md §2)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from inbox.platforms.base import (
    OutgoingMessage,
    Page,
    Participant,
    PlatformConversation,
    PlatformMessage,
    TransientError,
    is_platform_id,
    platform_id,
)
from inbox.platforms.tiktok_shop.adapter_common import (
    as_int,
    clamp,
    decode_content,
    dicts,
    next_page_token,
    path_id,
    utc_from_unix,
    warn_skipped,
)
from inbox.platforms.tiktok_shop.client import TikTokShopClient

# The newest version of each call (docs/platforms/tiktok-shop.md, "API versions").
CS = "/customer_service/202309"
SEND_MESSAGE_PATH = "/customer_service/202606/conversations/{conversation_id}/messages"

MAX_TEXT_LENGTH = 2000
MAX_CONVERSATIONS_PAGE = 20
MAX_MESSAGES_PAGE = 10

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


class ChatCalls:
    """The chat half of ``base.ShopApi``."""

    client: TikTokShopClient

    def list_conversations(
        self, *, page_token: str = "", page_size: int = 20
    ) -> Page[PlatformConversation]:
        data = self.client.call(
            "GET",
            f"{CS}/conversations",
            params={
                "page_size": clamp(page_size, MAX_CONVERSATIONS_PAGE),
                "page_token": page_token,
            },
        )
        items = [conversation_from(c) for c in dicts(data.get("conversations"))]
        valid = [c for c in items if is_platform_id(c.conversation_id)]
        warn_skipped("conversations", len(items) - len(valid))
        return Page(items=valid, next_page_token=next_page_token(data))

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
            f"{CS}/conversations/{path_id(conversation_id)}/messages",
            params={
                "page_size": clamp(page_size, MAX_MESSAGES_PAGE),
                "page_token": page_token,
                "sort_order": "DESC" if newest_first else "ASC",
                "sort_field": "create_time",
            },
        )
        items = [message_from(m, conversation_id) for m in dicts(data.get("messages"))]
        valid = [m for m in items if is_platform_id(m.message_id)]
        warn_skipped("messages", len(items) - len(valid))
        return Page(items=valid, next_page_token=next_page_token(data))

    def send_message(self, conversation_id: str, message: OutgoingMessage) -> str:
        validate_outgoing(message)
        data = self.client.call(
            "POST",
            SEND_MESSAGE_PATH.format(conversation_id=path_id(conversation_id)),
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
            f"{CS}/conversations/{path_id(conversation_id)}/messages/read",
            idempotent=True,  # reading twice changes nothing
        )

    def create_conversation(self, buyer_user_id: str) -> str:
        """Create Conversation (202309) with a buyer known by ``user_id``; returns the
        conversation id. The platform answers the existing conversation with that buyer if
        there is one, so creating twice is one conversation: the call may be retried."""
        data = self.client.call(
            "POST",
            f"{CS}/conversations",
            body={"buyer_user_id": platform_id(buyer_user_id, "buyer_user_id")},
            idempotent=True,
        )
        return platform_id(data.get("conversation_id"), "conversation_id")


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
            for p in dicts(raw.get("participants"))
            if p.get("role") == "BUYER" and p.get("user_id")
        ),
        None,
    )
    latest = raw.get("latest_message")
    return PlatformConversation(
        conversation_id=conversation_id,
        create_time=utc_from_unix(raw.get("create_time")),
        buyer=buyer,
        unread_count=as_int(raw.get("unread_count")),
        latest_message=(
            message_from(latest, conversation_id) if isinstance(latest, dict) and latest else None
        ),
        can_send_message=bool(raw.get("can_send_message", True)),
    )
