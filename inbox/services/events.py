"""Publishing the inbox's events. The choke point itself is ``scrm.events.event_publish``
(every app's; it writes the change-feed row in the transaction and pushes on commit); the kinds
are ``inbox.events``. This module adds the one shortcut inbox services share: an event about a
conversation, for the people of its shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inbox import events as _kinds  # noqa: F401 - registers the inbox's kinds
from scrm.events import EventKind, EventSpec, event_publish, events_publish


def conversation_event_publish(
    conversation: Any, type: EventKind | str, data: dict[str, Any]
) -> Any:
    """An event about one conversation, for the people of its shop (on commit)."""
    return event_publish(
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
        type=type,
        data=data,
    )


def conversation_events_publish(
    conversation: Any, events: Sequence[tuple[EventKind | str, dict[str, Any]]]
) -> list[Any]:
    """Several events about one conversation, in order, for the people of its shop: one
    change-feed INSERT and one push after commit for all (``events_publish``)."""
    return events_publish(
        [
            EventSpec(
                organisation_id=conversation.organisation_id,
                shop_account_id=conversation.shop_account_id,
                type=type_,
                data=data,
            )
            for type_, data in events
        ]
    )
