"""One JSON shape per object, shared by the REST API and the real-time events."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from inbox.models import Conversation, Message, Note
from scrm.images import safe_image_url


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def person_name(user: Any) -> str:
    """The name people see for a person: their display name (``Member.display_name``), else
    their login. Load ``<user>__member`` with the user (select_related) to keep it free."""
    try:
        display = user.member.display_name
    except ObjectDoesNotExist:  # a user of no organisation (an operator)
        display = ""
    return display or user.get_username()


def person_payload(user: Any) -> dict[str, Any] | None:
    """A person as the API and the events show them: ``name`` is what to display, ``username``
    the login (an identifier, not a name)."""
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": person_name(user)}


def message_payload(m: Message) -> dict[str, Any]:
    """``content`` is the platform's, unchanged; ``image_url`` is an image message's URL only
    when it is on an allowed image host (scrm/images.py), else null: draw that one."""
    content = m.content if isinstance(m.content, dict) else {}
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "platform_message_id": m.platform_message_id,
        "direction": m.direction,
        "sender_role": m.sender_role,
        "type": m.type,
        "text": m.text,
        "content": m.content,
        "image_url": safe_image_url(content.get("url")) if m.type == "IMAGE" else None,
        "sent_at": _iso(m.sent_at),
        "delivery_state": m.delivery_state,
        "failure_reason": m.failure_reason,
        "author": person_payload(m.author),
        "idempotency_key": m.idempotency_key or None,
    }


def note_payload(n: Note) -> dict[str, Any]:
    return {
        "id": n.id,
        "conversation_id": n.conversation_id,
        "text": n.text,
        "author": person_payload(n.author),
        "created_at": _iso(n.created_at),
    }


def _tag_names(c: Conversation) -> list[str]:
    """The names the queue read for its page (``tag_names``), else the conversation's tags."""
    names = getattr(c, "tag_names", None)
    return names if names is not None else [t.name for t in c.tags.all()]


def conversation_payload(
    c: Conversation, *, deadline: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The queue row: everything the queue shows without another request. ``deadline`` is
    its open SLA deadline (inbox.selectors.deadlines.row_deadlines, read for a page at once);
    None when it has none, and in events, which do not read it (``sla.deadline`` does)."""
    shop = c.shop_account
    return {
        "id": c.id,
        "platform_conversation_id": c.platform_conversation_id,
        "shop_account": {
            "id": shop.id,
            "name": shop.name,
            "platform": shop.platform,
            "region": shop.region,
            "time_zone": shop.time_zone,
        },
        "customer": {"id": c.customer_id, "name": c.customer.display_name},
        "status": c.status,
        "priority": c.priority,
        "assignee": person_payload(c.assignee),
        "tags": sorted(_tag_names(c)),
        "unread_count": c.unread_count,
        "last_message_at": _iso(c.last_message_at),
        "last_message_preview": c.last_message_preview,
        "last_buyer_message_at": _iso(c.last_buyer_message_at),
        "waiting_since": _iso(c.waiting_since),
        "snoozed_until": _iso(c.snoozed_until),
        "can_send_message": c.can_send_message,
        "deadline": deadline,
    }
