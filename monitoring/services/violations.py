"""Violations: a send that matched the word lists, recorded for the supervisors' review.

``violation_record`` writes one row in the caller's transaction. A *blocked* send is refused:
its caller raises, and its transaction rolls back, which would take the violation with it.
So the violation of a blocked send is recorded after that transaction, not inside it: the send
path runs inside ``violations_kept()`` (a context manager and decorator, placed *outside* its
``transaction.atomic``), ``screen_outgoing`` hands it the blocked send's violation, and the
scope writes it on the way out, in its own transaction, whether the send's transaction rolled
back or committed. This works alike on PostgreSQL and on SQLite (where a second connection
could not write while the send's transaction holds the database's write lock). Masked and
flagged sends are recorded inside the send's transaction: kept exactly when the send is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, transaction

from monitoring.models import Violation, WordAction
from monitoring.services.audit import actor_name
from monitoring.services.violation_review import violation_raised
from monitoring.words.screener import Match

logger = logging.getLogger(__name__)

_SEVERITY = {WordAction.BLOCK: 0, WordAction.MASK: 1, WordAction.FLAG: 2}
_pending: ContextVar[list[dict[str, Any]] | None] = ContextVar("violations_pending", default=None)


def match_dicts(matches: Sequence[Match]) -> list[dict[str, Any]]:
    """The matches as stored and answered: offsets in the original text, category, action and
    the list's word ("" for a detector: a phone number's digits are not kept twice)."""
    return [
        {"start": m.start, "end": m.end, "category": m.category, "action": m.action, "word": m.word}
        for m in matches
    ]


def violation_record(
    *,
    organisation_id: int,
    shop_account_id: int | None,
    conversation_id: int | None,
    actor: Any,
    source: str,
    action: str,
    text: str,
    matches: Sequence[Match],
) -> Violation:
    """Record a send that matched: who (id and name copied), where, the text (encrypted at
    rest), every match, the action taken; ``category`` is the most severe match's.

    Keeps: written in the caller's transaction (see the module docstring for blocked sends);
    audited as ``violation.raised`` and published as ``violation.flagged`` to the supervisors
    in the same transaction; nothing personal leaves the row (no log, no audit data or event
    with the text).
    """
    ordered = sorted(matches, key=lambda m: (_SEVERITY.get(m.action, 3), m.start))  # type: ignore[call-overload]
    known = actor is not None and getattr(actor, "is_authenticated", False)
    violation = Violation.objects.create(
        organisation_id=organisation_id,
        shop_account_id=shop_account_id,
        conversation_id=conversation_id,
        actor_id=actor.pk if known else None,
        actor_name=actor_name(actor),
        source=source,
        action=action,
        category=ordered[0].category if ordered else "",
        text=text,
        matches=match_dicts(matches),
    )
    # Audited (ids and values only) and told live to the organisation's supervisors.
    violation_raised(violation)
    return violation


def violation_defer(**kwargs: Any) -> bool:
    """Hand a blocked send's violation to the enclosing ``violations_kept()`` scope, which
    writes it after the send's transaction; False when no scope is open (the caller records
    it at once)."""
    pending = _pending.get()
    if pending is None:
        return False
    pending.append(kwargs)
    return True


def _flush(pending: list[dict[str, Any]]) -> None:
    for kwargs in pending:
        try:
            with transaction.atomic():
                violation_record(**kwargs)
        except DatabaseError:
            # Never hide the refusal the send is raising with a 500; say what was lost.
            logger.exception(
                "violation of a blocked send not recorded",
                extra={"organisation_id": kwargs["organisation_id"]},
            )


@contextmanager
def violations_kept() -> Iterator[None]:
    """Around a send path, outside its transaction: the violations of blocked sends inside are
    written on the way out (after a rollback too). Nested scopes hand theirs to the outermost
    one."""
    if _pending.get() is not None:
        yield
        return
    pending: list[dict[str, Any]] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
        _flush(pending)
