"""Open SLA deadlines on queue rows, as the deadline engine leaves them: a ``Deadline`` row per
target and the subject's queue key written by its one writer (inbox.services.sla_keys)."""

from __future__ import annotations

from datetime import datetime

from inbox.models import AfterSalesCase, Conversation
from inbox.services.sla_keys import sla_due_set
from monitoring.models.sla import Deadline


def deadline_on(
    subject: Conversation | AfterSalesCase,
    due_at: datetime,
    *,
    kind: str = "",
    warnings: tuple[int, ...] = (240, 60),
) -> Deadline:
    """An open deadline due at ``due_at`` on a conversation or a case (its queue key the
    earliest open one)."""
    is_case = isinstance(subject, AfterSalesCase)
    deadlines_clear(subject)
    deadline = Deadline.objects.create(
        organisation_id=subject.organisation_id,
        shop_account_id=subject.shop_account_id,
        kind=kind or ("after_sales" if is_case else "first_reply"),
        conversation=None if is_case else subject,
        case=subject if is_case else None,
        started_at=due_at.replace(year=due_at.year - 1),
        due_at=due_at,
        rule={"warnings": list(warnings)},
    )
    query = Deadline.objects.filter(state="open")
    query = query.filter(case=subject) if is_case else query.filter(conversation=subject)
    earliest = query.order_by("due_at").values_list("due_at", flat=True).first()
    if is_case:
        sla_due_set(cases={subject.id: earliest})
    else:
        sla_due_set(conversations={subject.id: earliest})
    subject.refresh_from_db()
    return deadline


def deadlines_clear(subject: Conversation | AfterSalesCase) -> None:
    """No open deadline on the subject (whatever its builder's messages opened)."""
    if isinstance(subject, AfterSalesCase):
        Deadline.objects.filter(case=subject, state="open").delete()
        sla_due_set(cases={subject.id: None})
    else:
        Deadline.objects.filter(conversation=subject, state="open").delete()
        sla_due_set(conversations={subject.id: None})
    subject.refresh_from_db()


def deadline_close(deadline: Deadline) -> None:
    """Close it (met) and put the subject's queue key back as the engine does."""
    deadline.state = "met"
    deadline.save(update_fields=["state"])
    if deadline.case_id:
        sla_due_set(cases={deadline.case_id: None})
    else:
        sla_due_set(conversations={deadline.conversation_id: None})
