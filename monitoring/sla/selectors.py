"""Reads of the SLA tracker's open deadlines for the queue and the APIs (docs/sla.md).

Callers pass ids of conversations and cases they already read for a user who may see them (the
queue's page, one conversation, one case): these selectors add no access rule of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import Q
from django.utils import timezone

from monitoring.models.sla import DEFAULT_WARNING_MINUTES, Deadline, DeadlineState

Subject = Literal["conversation", "case"]
DisplayState = Literal["ok", "warning", "breached"]


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


def display_state(due_at: datetime, warn_at: datetime | None, now: datetime) -> DisplayState:
    if now >= due_at:
        return "breached"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "ok"


def deadline_info(deadline: Deadline, *, now: datetime | None = None) -> DeadlineInfo:
    """One deadline row as the queue shows it, at ``now``."""
    warn_at = warn_at_of(deadline.due_at, deadline.rule)
    state = display_state(deadline.due_at, warn_at, now or timezone.now())
    return DeadlineInfo(kind=deadline.kind, due_at=deadline.due_at, warn_at=warn_at, state=state)


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
    rows = (
        Deadline.objects.filter(Q(conversation_id__in=chats) | Q(case_id__in=cases))
        .filter(state=DeadlineState.OPEN)
        .order_by("-due_at", "-id")
        .only("kind", "due_at", "rule", "conversation_id", "case_id")
    )
    out: dict[tuple[Subject, int], DeadlineInfo] = {}
    for row in rows:  # latest first: the earliest-due one is written last
        key: tuple[Subject, int] = (
            ("conversation", row.conversation_id)
            if row.conversation_id is not None
            else ("case", row.case_id or 0)
        )
        out[key] = deadline_info(row, now=now)
    return out
