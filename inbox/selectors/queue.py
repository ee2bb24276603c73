"""The one queue: conversations and the after-sales cases that need a decision, in one order.

Rows are ordered by when the answer is due (the "waiting" sort): a case's seller deadline
(``SCRM_CASE_DEFAULT_DEADLINE_HOURS`` after the buyer asked when the platform gave none), a
conversation's waiting time plus ``SCRM_CHAT_REPLY_TARGET_MINUTES`` (answered ones last). On a
tie a case comes first, then the lower id. Paging is by keyset: each source (conversations,
cases with a deadline, cases without) is read from the cursor's position, index-backed and
limited to a page, and the sources are merged here; the cursor names the last row's position,
so rows that change between pages never repeat or go missing because of the pages before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from inbox.models import AfterSalesCase, CaseStage
from inbox.selectors.accounts import AnyUser, shop_account_ids_for
from inbox.selectors.conversations import QueueFilters, conversation_list
from inbox.selectors.queue_keys import (
    CASE,
    CONVERSATION,
    KINDS,
    QueuePage,
    QueueRow,
    case_after,
    case_default_deadline,
    case_due,
    chat_reply_target,
    conversation_after,
    conversation_due,
    parse_cursor,
    position_of,
    sort_key,
)


@dataclass(frozen=True)
class _Source:
    kind: int
    queryset: Callable[[], QuerySet[Any] | None]
    order: tuple[str, ...]
    after: Callable[[tuple[int, ...]], Q | bool]
    per_shop: bool  # read shop by shop (ordered index scans) and merge


# --- the sources ------------------------------------------------------------------------------


def case_rows(
    user: AnyUser, filters: QueueFilters, shops: list[int]
) -> QuerySet[AfterSalesCase] | None:
    """Cases needing a decision in ``shops`` (already the user's), with the queue's filters as
    they apply to a case; None when the filters leave no case.

    A case is open work: it shows when the status filter includes ``open`` (or is empty).
    Assignee and tag apply through the case's conversation (the chat with that buyer in that
    shop); a case not linked to a conversation yet counts as unassigned and untagged. "Waiting
    longer than" counts from the buyer's request. Search finds a case by its platform id, its
    order id or the buyer's exact name.
    """
    if filters.statuses and "open" not in filters.statuses:
        return None
    qs = AfterSalesCase.objects.filter(shop_account_id__in=shops, stage=CaseStage.NEEDS_DECISION)
    if filters.platform:
        qs = qs.filter(shop_account__platform=filters.platform)
    if filters.assignee == "me":
        qs = qs.filter(conversation__assignee_id=user.pk)
    elif filters.assignee == "unassigned":
        qs = qs.filter(Q(conversation__isnull=True) | Q(conversation__assignee__isnull=True))
    elif filters.assignee.isascii() and filters.assignee.isdigit():
        qs = qs.filter(conversation__assignee_id=int(filters.assignee))
    if filters.tag:
        qs = qs.filter(conversation__tags__name=filters.tag)
    if filters.waiting_longer_than is not None:
        from django.utils import timezone

        qs = qs.filter(platform_created_at__lte=timezone.now() - filters.waiting_longer_than)
    if filters.search:
        qs = qs.filter(_case_search_q(filters.search))
    return qs


def _case_search_q(term: str) -> Q:
    from scrm.crypto import key_ring

    name_index = key_ring().blind_index(term, purpose="customer.name")
    q = Q(platform_case_id=term) | Q(order_platform_id=term) | Q(customer__name_index=name_index)
    if term.isascii() and term.isdigit() and len(term) <= 18:
        q |= Q(id=int(term))
    return q


def _shown(qs: QuerySet[AfterSalesCase]) -> QuerySet[AfterSalesCase]:
    """What a case row shows: shop, buyer, its conversation's assignee; never credentials nor
    the buyer's words (encrypted, not shown in the queue)."""
    return qs.select_related("shop_account", "customer", "conversation").defer(
        "shop_account__credentials", "buyer_reason", "lines", "evidence", "history"
    )


def _sources(
    user: AnyUser, filters: QueueFilters, sort: str, kind: str, shops: list[int]
) -> list[_Source]:
    sources: list[_Source] = []
    if kind in ("all", "conversations"):
        sources.append(
            _Source(
                CONVERSATION,
                lambda: conversation_list(user, filters),
                (),  # conversation_list orders by the sort already
                conversation_after(sort, chat_reply_target()),
                per_shop=False,  # the conv_queue_open partial index serves every shop at once
            )
        )
    if kind in ("all", "cases"):
        base = case_rows(user, filters, shops)
        if base is None:
            return sources
        if sort == "newest":
            sources.append(
                _Source(
                    CASE,
                    lambda: base,
                    ("-platform_updated_at", "-id"),
                    case_after(sort, "platform_updated_at", timedelta(0)),
                    per_shop=False,
                )
            )
            return sources
        with_deadline = base.filter(seller_deadline__isnull=False)
        without = base.filter(seller_deadline__isnull=True)
        sources.append(
            _Source(
                CASE,
                lambda: with_deadline,
                ("seller_deadline", "id"),
                case_after(sort, "seller_deadline", timedelta(0)),
                per_shop=True,  # case_queue (shop, stage, seller_deadline, id), one scan a shop
            )
        )
        sources.append(
            _Source(
                CASE,
                lambda: without,
                ("platform_created_at", "id"),
                case_after(sort, "platform_created_at", case_default_deadline()),
                per_shop=False,  # few: the platform gives a deadline to what needs a decision
            )
        )
    return sources


def _read(
    source: _Source, position: tuple[int, ...] | None, limit: int, shops: list[int]
) -> list[Any]:
    qs = source.queryset()
    if qs is None:
        return []
    if position is not None:
        after = source.after(position)
        if after is False:
            return []
        if after is not True:
            qs = qs.filter(after)
    if source.order:
        qs = qs.order_by(*source.order)
    if source.kind == CONVERSATION:
        return list(qs[:limit])
    if (
        source.per_shop
        and len(shops) > 1
        and connection.features.supports_slicing_ordering_in_compound
    ):
        # PostgreSQL does not merge ordered index scans over an IN list: one ordered, limited
        # scan of case_queue per shop, put together; the rows themselves in a second query.
        parts = [qs.filter(shop_account_id=s).values_list("id", flat=True)[:limit] for s in shops]
        ids = list(parts[0].union(*parts[1:], all=True))
        if not ids:
            return []
        qs = AfterSalesCase.objects.filter(id__in=ids).order_by(*source.order)
    return list(_shown(qs)[:limit])


def queue_page(
    user: AnyUser,
    filters: QueueFilters,
    *,
    kind: str = "all",
    cursor: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """One page of the one queue after ``cursor``: conversations and cases needing a decision
    of the shops the user may see (``kind``: all | conversations | cases), in the sort's order.

    Keeps: only shops the user may see, whatever filter is asked; each row once across pages
    when nothing changes, and no row skipped or repeated because of an earlier page when rows
    change (the cursor is a position, not an offset).
    """
    sort = filters.sort if filters.sort in ("waiting", "newest", "priority") else "waiting"
    kind = kind if kind in KINDS else "all"
    allowed = shop_account_ids_for(user)
    shops = (
        [s for s in filters.shop_account_ids if s in allowed]
        if filters.shop_account_ids
        else allowed
    )
    position = parse_cursor(sort, cursor)
    rows: list[QueueRow] = []
    for source in _sources(user, filters, sort, kind, shops):
        for item in _read(source, position, limit + 1, shops):
            due = conversation_due(item) if source.kind == CONVERSATION else case_due(item)
            rows.append(
                QueueRow(
                    "conversation" if source.kind == CONVERSATION else "case",
                    item,
                    position_of(sort, source.kind, item, due),
                    due,
                )
            )
    rows.sort(key=lambda r: sort_key(sort, r.position))
    page = rows[:limit]
    return QueuePage(page, page[-1].cursor if len(rows) > limit and page else None)


def queue_case_row(
    user: AnyUser, case_id: int, filters: QueueFilters, *, kind: str = "all"
) -> tuple[QueueRow, bool]:
    """One case the user may see as a queue row, and whether the view of ``filters`` and
    ``kind`` lists it (a case that no longer needs a decision is not listed); NotFound for a
    case outside the user's shops."""
    from scrm.api import NotFound

    shops = shop_account_ids_for(user)
    try:
        case = _shown(AfterSalesCase.objects.filter(shop_account_id__in=shops)).get(id=case_id)
    except AfterSalesCase.DoesNotExist:
        raise NotFound("After-sales case not found.") from None
    sort = filters.sort if filters.sort in ("waiting", "newest", "priority") else "waiting"
    due = case_due(case)
    row = QueueRow("case", case, position_of(sort, CASE, case, due), due)
    wanted = (
        [s for s in filters.shop_account_ids if s in shops] if filters.shop_account_ids else shops
    )
    listed = case_rows(user, filters, wanted) if kind in ("all", "cases") else None
    return row, listed is not None and listed.filter(id=case_id).exists()


def case_decision_states(case_ids: list[int]) -> dict[int, tuple[str, str]]:
    """For the cases listed, where their latest decision stands when it is not settled:
    {case id: ("pending" | "sending" | "failed", the platform's reason)}. Two queries."""
    from inbox.models import AfterSalesDecision, OutboxAction

    latest: dict[int, int] = {}
    for decision_id, case_id in AfterSalesDecision.objects.filter(case_id__in=case_ids).values_list(
        "id", "case_id"
    ):
        latest[case_id] = max(decision_id, latest.get(case_id, 0))
    by_decision = {d: c for c, d in latest.items()}
    actions = OutboxAction.objects.filter(
        kind="after_sales_decision",
        subject_id__in=list(by_decision),
        state__in=["pending", "sending", "failed"],
    ).values_list("subject_id", "state", "failure_reason")
    return {by_decision[s]: (state, reason) for s, state, reason in actions if s in by_decision}
