"""Publishing the inbox's events. The choke point itself is ``scrm.events.event_publish``
(every app's; it writes the change-feed row in the transaction and pushes on commit); the kinds
are ``inbox.events``. This module adds the one shortcut inbox services share: an event about a
conversation, for the people of its shop.
"""

from __future__ import annotations

from typing import Any

from inbox import events as _kinds  # noqa: F401 - registers the inbox's kinds
from scrm.events import EventKind, event_publish


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
