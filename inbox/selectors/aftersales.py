"""After-sales cases a user may see: the shops they work on (agents: member shops only).

Each case comes with its latest decision's outbox state (``decision_state``,
``decision_failure_reason``), annotated in the same query so a page of cases costs no more
queries than one case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import DateTimeField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from inbox.models import AfterSalesCase, AfterSalesDecision, CaseStage, OutboxAction
from inbox.payloads_aftersales import DECISION_KIND
from inbox.selectors.accounts import AnyUser, shop_account_ids_for
from scrm.api import NotFound

OPEN_STAGES = (CaseStage.NEEDS_DECISION, CaseStage.WAITING)
# The queue's order: the earliest seller deadline first, cases without one after them.
CASE_ORDERING = ("due_at", "id")
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)  # sorts after any deadline


@dataclass(frozen=True)
class CaseFilters:
    shop_account_ids: tuple[int, ...] = ()
    stages: tuple[str, ...] = ()  # () = every stage
    kinds: tuple[str, ...] = ()  # refund | return_and_refund | ... ; () = every kind
    due_before: datetime | None = None


def _due() -> Coalesce:
    return Coalesce(F("seller_deadline"), Value(NO_DEADLINE, output_field=DateTimeField()))


def with_decision_state(qs: QuerySet[AfterSalesCase]) -> QuerySet[AfterSalesCase]:
    """Annotate each case with its latest decision's outbox state and failure reason."""
    latest = AfterSalesDecision.objects.filter(case_id=OuterRef("pk")).order_by("-id")
    action = OutboxAction.objects.filter(
        kind=DECISION_KIND, subject_id=OuterRef("latest_decision_id")
    )
    return qs.annotate(latest_decision_id=Subquery(latest.values("id")[:1])).annotate(
        decision_state=Subquery(action.values("state")[:1]),
        decision_failure_reason=Subquery(action.values("failure_reason")[:1]),
    )


def _visible(user: AnyUser) -> QuerySet[AfterSalesCase]:
    return AfterSalesCase.objects.filter(shop_account_id__in=shop_account_ids_for(user))


def case_list(user: AnyUser, filters: CaseFilters) -> QuerySet[AfterSalesCase]:
    """Cases of the shops the user works on, filtered, the earliest deadline first (``due_at``:
    the seller deadline, or far in the future for a case without one; then ``id``).

    Keeps: only shops the user may see, whatever shop filter is asked.
    """
    allowed = shop_account_ids_for(user)
    shops = (
        [s for s in filters.shop_account_ids if s in allowed]
        if filters.shop_account_ids
        else allowed
    )
    qs = AfterSalesCase.objects.filter(shop_account_id__in=shops)
    if filters.stages:
        qs = qs.filter(stage__in=filters.stages)
    if filters.kinds:
        qs = qs.filter(kind__in=filters.kinds)
    if filters.due_before is not None:
        qs = qs.filter(seller_deadline__lt=filters.due_before)
    qs = qs.annotate(due_at=_due())
    # The shop's time zone shows each row's SLA deadline in shop time (no query per row).
    qs = qs.select_related("shop_account").defer("shop_account__credentials")
    return with_decision_state(qs).order_by(*CASE_ORDERING)


def case_get(user: AnyUser, case_id: int) -> AfterSalesCase:
    """One case the user may see, or NotFound (never a hint that it exists)."""
    try:
        return (
            with_decision_state(_visible(user))
            .select_related("shop_account", "customer")
            .defer("shop_account__credentials")
            .get(id=case_id)
        )
    except AfterSalesCase.DoesNotExist:
        raise NotFound("After-sales case not found.") from None


def cases_for_customer(
    user: AnyUser, *, customer_id: int, shop_account_id: int, open_only: bool = True
) -> QuerySet[AfterSalesCase]:
    """A buyer's cases in one shop (the side panel beside their conversation), the earliest
    deadline first; none when the user may not see that shop. ``open_only``: cases needing a
    decision or waiting on the buyer or the parcel."""
    if shop_account_id not in shop_account_ids_for(user):
        return AfterSalesCase.objects.none()
    qs = AfterSalesCase.objects.filter(shop_account_id=shop_account_id, customer_id=customer_id)
    if open_only:
        qs = qs.filter(stage__in=OPEN_STAGES)
    qs = qs.annotate(due_at=_due())
    return with_decision_state(qs).order_by(*CASE_ORDERING)


def case_decisions(case: AfterSalesCase) -> list[tuple[AfterSalesDecision, OutboxAction | None]]:
    """A visible case's decisions, newest first, each with its outbox action (two queries)."""
    decisions = list(
        AfterSalesDecision.objects.filter(case=case)
        .select_related("author__member")
        .order_by("-id")
    )
    actions = {
        a.subject_id: a
        for a in OutboxAction.objects.filter(
            kind=DECISION_KIND, subject_id__in=[d.id for d in decisions]
        )
    }
    return [(d, actions.get(d.id)) for d in decisions]
