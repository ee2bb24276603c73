"""Reads of the SLA tracker's open deadlines for the queue and the APIs (docs/sla.md).

Callers pass ids of conversations and cases they already read for a user who may see them (the
queue's page, one conversation, one case): these selectors add no access rule of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.payloads_deadline import DisplayState, deadline_state
from monitoring.models.sla import DEFAULT_WARNING_MINUTES, Deadline, DeadlineState
from scrm.compiled import padded, read_compiled

Subject = Literal["conversation", "case"]


@dataclass(frozen=True)
class DeadlineInfo:
    """A subject's open deadline as the queue shows it: the earliest-due one of its kinds.

    ``warn_at``: the first warning threshold (None when the policy has no warnings);
    ``state`` relative to the moment it was read: ``ok`` before ``warn_at``, ``warning`` from
    it, ``breached`` from ``due_at``."""

    kind: str
    due_at: datetime
    warn_at: datetime | None
    state: DisplayState

    @property
    def breached(self) -> bool:
        return self.state == "breached"


def warn_at_of(due_at: datetime, rule: Mapping[str, Any] | None) -> datetime | None:
    """The first warning threshold of a deadline: the largest of the warnings its rule
    recorded (the policy's defaults for a rule without them) before ``due_at``."""
    raw = (rule or {}).get("warnings", list(DEFAULT_WARNING_MINUTES))
    minutes = [int(m) for m in raw if isinstance(m, int | float) and m > 0]
    return due_at - timedelta(minutes=max(minutes)) if minutes else None


def _info(
    kind: str, due_at: datetime, rule: Mapping[str, Any] | None, now: datetime
) -> DeadlineInfo:
    warn_at = warn_at_of(due_at, rule)
    return DeadlineInfo(
        kind=kind, due_at=due_at, warn_at=warn_at, state=deadline_state(due_at, warn_at, now)
    )


def deadline_info(deadline: Deadline, *, now: datetime | None = None) -> DeadlineInfo:
    """One deadline row as the queue shows it, at ``now``."""
    return _info(deadline.kind, deadline.due_at, deadline.rule, now or timezone.now())


def _open_query(chats: list[int], cases: list[int]) -> QuerySet[Any]:
    return (
        Deadline.objects.filter(Q(conversation_id__in=chats) | Q(case_id__in=cases))
        .filter(state=DeadlineState.OPEN)
        .order_by("-due_at", "-id")
        .values_list("kind", "due_at", "rule__warnings", "conversation_id", "case_id")
    )


def open_deadlines_for(
    *,
    conversation_ids: Iterable[int] = (),
    case_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> dict[tuple[Subject, int], DeadlineInfo]:
    """Each given subject's earliest-due open deadline: {("conversation"|"case", id): info};
    a subject with none open is absent.

    Keeps: one query whatever the number of ids (none without ids); ids come from rows the
    caller already read for its user (no access rule here).
    """
    chats, cases = list(conversation_ids), list(case_ids)
    if not chats and not cases:
        return {}
    now = now or timezone.now()
    # Columns, not model instances: a page reads two or three deadlines a row; of the rule,
    # only its warnings (the rest of the policy's snapshot is not parsed for a page).
    # Compiled once per number of ids (read_compiled): a page's read costs no ORM build.
    rows = read_compiled("open_deadlines_for", _open_query, padded(chats), padded(cases))
    out: dict[tuple[Subject, int], tuple[str, datetime, Any]] = {}
    for kind, due_at, warnings, conversation_id, case_id in rows:
        # Latest first: the earliest-due one is written last.
        key: tuple[Subject, int] = (
            ("conversation", conversation_id)
            if conversation_id is not None
            else ("case", case_id or 0)
        )
        out[key] = (kind, due_at, {"warnings": warnings} if warnings is not None else None)
    return {key: _info(*row, now) for key, row in out.items()}
