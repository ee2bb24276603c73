"""The queue's "due" sort key: ``Conversation.sla_due_at`` and ``AfterSalesCase.sla_due_at``.

This module is the only writer of the two fields (a conversation being stored gets its key
in the store's one UPDATE of it: ``conversation_state.conversation_writes_gathered``). The SLA
tracker (``monitoring.sla``) calls :func:`sla_due_set` whenever a subject's open deadlines
open, close or move, with the earliest due time still open (None: nothing open), so the inbox
never reads the tracker's tables. The key is never null: ``ANSWERED_SENTINEL`` when nothing is
due, so the queue's index and cursor can order on it (due soonest first, nothing due last).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import models
from django.db.models import Case, Value, When

from inbox.models import ANSWERED_SENTINEL, AfterSalesCase, Conversation
from inbox.services.conversation_state import conversation_due_key_gathered


def sla_due_set(
    *,
    conversations: Mapping[int, datetime | None] | None = None,
    cases: Mapping[int, datetime | None] | None = None,
) -> None:
    """Set the due key of conversations and cases: id → earliest open due time (None: none).

    Keeps: at most one UPDATE per model whatever the number of ids (no savepoint: it runs in
    the caller's transaction, the one that changed the deadlines, with the subject's row
    locked); a single value already stored is not written again.
    """
    _set(Conversation, conversations or {})
    _set(AfterSalesCase, cases or {})


def _set(model: type[models.Model], keys: Mapping[int, datetime | None]) -> None:
    if not keys:
        return
    values = {pk: due or ANSWERED_SENTINEL for pk, due in keys.items()}
    if model is Conversation and len(values) == 1:
        # A conversation being stored: written with the store's own UPDATE of it.
        ((pk, due),) = values.items()
        if conversation_due_key_gathered(pk, due):
            return
    rows = model._default_manager.filter(pk__in=list(values))
    if len(set(values.values())) == 1:
        (due,) = set(values.values())
        rows.exclude(sla_due_at=due).update(sla_due_at=due)
        return
    rows.update(
        sla_due_at=Case(
            *(When(pk=pk, then=Value(due)) for pk, due in values.items()),
            output_field=models.DateTimeField(),
        )
    )
