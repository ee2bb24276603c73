"""Publishing the inbox's events. The choke point itself is ``scrm.events.event_publish``
(every app's; it writes the change-feed row in the transaction and pushes on commit); the kinds
are ``inbox.events``. This module adds the one shortcut inbox services share: an event about a
conversation, for the people of its shop.

The other names are re-exported for code that imported them from here before the choke point
moved; new code imports them from ``scrm.events``.
"""

from __future__ import annotations

from typing import Any

from inbox import events as _kinds  # noqa: F401 - registers the inbox's kinds
from scrm.events import (
    EVENT_KINDS,
    EventKind,
    UnknownEventKind,
    control_publish,
    event_publish,
    shop_group,
    supervisors_group,
    user_group,
)

__all__ = [
    "EVENT_KINDS",
    "UnknownEventKind",
    "control_publish",
    "conversation_event_publish",
    "event_publish",
    "shop_group",
    "supervisors_group",
    "user_group",
]


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
