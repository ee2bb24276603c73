"""The one way real-time events leave a service: a change-feed row in the transaction, and a
channel-layer push after commit (Zulip's send_event_on_commit).

Groups: ``shop.<id>`` (every user working on that shop joins it) and ``user.<id>``.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from inbox.models import InboxEvent

logger = logging.getLogger(__name__)


# Every kind of event the inbox publishes, with what its data is (docs/api.md lists the same;
# a test holds the two equal, and the access tests enumerate this registry).
EVENT_KINDS: dict[str, str] = {
    "message.created": "a message (buyer message arrived, or your reply stored as pending)",
    "message.updated": "a message whose delivery_state changed",
    "conversation.updated": "a queue row (new message, assignment, status, tags, read)",
    "note.created": "a note",
}


class UnknownEventKind(ValueError):
    """An event kind missing from EVENT_KINDS: add it there (and to docs/api.md) first."""


def shop_group(shop_account_id: int) -> str:
    return f"shop.{shop_account_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def event_publish(
    *,
    organisation_id: int,
    type: str,
    data: dict[str, Any],
    shop_account_id: int | None = None,
    user_id: int | None = None,
) -> InboxEvent:
    """Record an event (monotonic id) and push it to its group once the transaction commits.

    ``data`` holds ids and display fields the inbox shows; it never leaves the shop's members.
    Keeps: ``type`` is a registered kind (``EVENT_KINDS``), else ``UnknownEventKind``.
    """
    if type not in EVENT_KINDS:
        raise UnknownEventKind(f"unknown event kind {type!r}: register it in EVENT_KINDS")
    event = InboxEvent.objects.create(
        organisation_id=organisation_id,
        shop_account_id=shop_account_id,
        user_id=user_id,
        type=type,
        data=data,
        txid=_current_txid(),
    )
    group = shop_group(shop_account_id) if shop_account_id else user_group(user_id or 0)
    payload = {"type": "inbox.event", "event": {"id": event.id, "type": type, "data": data}}
    transaction.on_commit(lambda: _push(group, payload))
    return event


def _current_txid() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return int(cursor.fetchone()[0])


def conversation_event_publish(conversation: Any, type: str, data: dict[str, Any]) -> InboxEvent:
    """An event about one conversation, for the members of its shop."""
    return event_publish(
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
        type=type,
        data=data,
    )


def control_publish(*, user_id: int, message: dict[str, Any]) -> None:
    """A control message to a user's open sockets (e.g. leave a shop group), after commit."""
    transaction.on_commit(lambda: _push(user_group(user_id), message))


def _push(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, payload)
    except Exception:  # a lost push is recovered by the change feed; never fail the request
        logger.warning("could not push event to %s", group, exc_info=True)
