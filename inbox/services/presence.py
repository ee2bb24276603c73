"""Who has the inbox open: counted per user from open websockets (feeds auto-assignment).

A user is online while ``connections > 0`` and ``last_seen_at`` is within ``PRESENCE_WINDOW``.
Every open socket refreshes ``last_seen_at`` every ``SCRM_WS_RECHECK_SECONDS`` (shorter than the
window), so the counter is never the only evidence: a socket that dies without its disconnect
(a killed process) stops refreshing, its user reads offline once the window passes, and the next
socket restarts the count from one instead of adding to a stale number.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from inbox.models import AgentPresence

# Kept longer than SCRM_WS_RECHECK_SECONDS (a test holds the two apart).
PRESENCE_WINDOW = timedelta(minutes=2)


def is_online(presence: AgentPresence | None, *, since: datetime | None = None) -> bool:
    """Whether this presence row shows an open socket within the window (``since``: the
    window's start, computed once by a caller that checks many rows)."""
    if presence is None or presence.connections <= 0 or presence.last_seen_at is None:
        return False
    return presence.last_seen_at >= (since or timezone.now() - PRESENCE_WINDOW)


@transaction.atomic
def presence_connect(*, user_id: int) -> None:
    """Count one more open socket of the user.

    Keeps: a count last refreshed before the window counts no live socket (each live one
    refreshes within it), so it restarts at one rather than carrying a leaked number.
    """
    now = timezone.now()
    presence, _ = AgentPresence.objects.select_for_update().get_or_create(user_id=user_id)
    stale = presence.last_seen_at is None or presence.last_seen_at < now - PRESENCE_WINDOW
    presence.connections = 1 if stale else F("connections") + 1
    presence.last_seen_at = now
    presence.save(update_fields=["connections", "last_seen_at"])


def presence_touch(*, user_id: int) -> None:
    """An open socket of the user is alive now (its periodic timer): at least one connection."""
    AgentPresence.objects.filter(user_id=user_id).update(
        last_seen_at=timezone.now(), connections=Greatest(F("connections"), 1)
    )


def presence_disconnect(*, user_id: int) -> None:
    """One socket of the user closed. ``last_seen_at`` is left alone: a count that leaked
    earlier must age out of the window, not be kept fresh by a closing socket."""
    AgentPresence.objects.filter(user_id=user_id).update(
        connections=Greatest(F("connections") - 1, 0)
    )
