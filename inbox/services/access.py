"""Access that ends at once: when a person's access changes, their open inbox sockets re-check it.

Every change of who may see what (deactivation, a role change, a membership change, a password
change, "log out everywhere", a session revoked) calls :func:`access_changed_notify`. After the
transaction commits, it sends a control message to each user's group; every open socket of that
user then re-checks, at once, that its user is still active, still a member, that its session
still exists with the same password hash, and which shops it may see. A socket that may no
longer see anything is closed (close code 4403, or 4401 when the session is gone); one whose
shops changed leaves and joins shop groups.

Changes made outside the app (SQL, a shell) are caught by the same re-check, which every
socket also runs on a timer (``SCRM_WS_RECHECK_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Iterable

from inbox.services.events import control_publish

ACCESS_CHANGED = "inbox.access_changed"


def access_changed_notify(*, user_ids: Iterable[int]) -> None:
    """Make each user's open sockets re-check their access as soon as the change commits.

    Safe inside or outside a transaction: the control message leaves on commit (at once when no
    transaction is open), so a socket never re-checks before the change is visible. A lost
    message (Redis down) is caught by the sockets' periodic re-check.
    """
    for user_id in sorted({int(u) for u in user_ids}):
        control_publish(user_id=user_id, message={"type": ACCESS_CHANGED})
