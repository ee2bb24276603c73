"""The one queue: conversations and the after-sales cases that need a decision, in one order.

Rows are ordered by when the answer is due (the "waiting" sort): a case's seller deadline
(``SCRM_CASE_DEFAULT_DEADLINE_HOURS`` after the buyer asked when the platform gave none), a
conversation's waiting time plus ``SCRM_CHAT_REPLY_TARGET_MINUTES`` (answered ones last). On a
tie a case comes first, then the lower id. The "due" sort orders both by their SLA deadline
(``sla_due_at``: the earliest open deadline, the sentinel — last — when none is open). A row
shows its SLA deadline when it has one, else the waiting sort's due time.

Paging is by keyset: each source (conversations, cases with a deadline, cases without) is
read from the cursor's position, index-backed and limited to a page, and the sources are merged
here; the cursor names the last row's position, so rows that change between pages never
repeat or go missing because of the pages before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from inbox.models import AfterSalesCase, CaseStage
from inbox.models.conversations import ANSWERED_SENTINEL
from inbox.selectors import queue_rows
from inbox.selectors.accounts import AnyUser, member_for, shop_account_ids_for
from inbox.selectors.aftersales import with_decision_state
from inbox.selectors.conversations import (
    QueueFilters,
    conversations_filtered,
    conversations_of_shops,
    tag_id_for,
    tag_id_q,
    tag_names_of,
    tagged_q,
)
from inbox.selectors.queue_keys import (
    CASE,
    CONVERSATION,
    KINDS,
    SORTS,
    QueuePage,
    QueueRow,
    case_after,
    case_default_deadline,
    chat_reply_target,
    conversation_after,
    conversation_due,
    parse_cursor,
    position_of,
    shown_due,
    sort_due,
    sort_key,
)
from scrm.compiled import read_compiled

# Up to this many shops, the cases with a deadline are read shop by shop (see _key_parts).
PER_SHOP_SCANS_MAX = 10
# The columns phase one reads of a case: its position's makings, no more.
CASE_KEYS = ("id", "queue_due")
CASE_KEYS_NEWEST = ("id", "platform_updated_at")


@dataclass(frozen=True)
class _Source:
    kind: int
    queryset: Callable[[], QuerySet[Any] | None]
    order: tuple[str, ...]
    after: Callable[[tuple[int, ...]], Q | bool]
    per_shop: bool  # read shop by shop (ordered index scans) and merge
    keys: tuple[str, ...]  # the columns phase one reads (a position's makings, no more)
    annotations: dict[str, Any] = field(default_factory=dict)


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
    qs = cases_filtered(
        filters,
        shops,
        user_id=user.pk,
        tag_q=tagged_q(user, filters.tag, "conversation_id") if filters.tag else None,
    )
    if filters.waiting_longer_than is not None:
        from django.utils import timezone

        qs = qs.filter(platform_created_at__lte=timezone.now() - filters.waiting_longer_than)
    if filters.due_before is not None:
        qs = qs.filter(sla_due_at__lt=filters.due_before)
    if filters.search:
        qs = qs.filter(_case_search_q(filters.search, user))
    return qs


def cases_filtered(
    filters: QueueFilters, shops: list[int], *, user_id: int, tag_q: Q | None
) -> QuerySet[AfterSalesCase]:
    """``case_rows`` by platform, assignee (``user_id``: the person's own for "me") and tag
    (``tag_q``); the filters of a moment (waiting, due, search) are ``case_rows``'."""
    qs = AfterSalesCase.objects.filter(shop_account_id__in=shops, stage=CaseStage.NEEDS_DECISION)
    if filters.platform:
        qs = qs.filter(shop_account__platform=filters.platform)
    if filters.assignee == "me":
        qs = qs.filter(conversation__assignee_id=user_id)
    elif filters.assignee == "unassigned":
        qs = qs.filter(Q(conversation__isnull=True) | Q(conversation__assignee__isnull=True))
    elif filters.assignee.isascii() and filters.assignee.isdigit():
        qs = qs.filter(conversation__assignee_id=int(filters.assignee))
    if tag_q is not None:
        qs = qs.filter(tag_q)
    return qs


def _case_search_q(term: str, user: AnyUser) -> Q:
    from inbox.selectors.search import customer_ids_matching
    from scrm.blind import org_index_for

    index = org_index_for(member_for(user).organisation_id)
    q = Q(platform_case_id=term) | Q(order_platform_id=term)
    q |= Q(customer_id__in=customer_ids_matching(index, term))
    if term.isascii() and term.isdigit() and len(term) <= 18:
        q |= Q(id=int(term))
    return q


def _shown(qs: QuerySet[AfterSalesCase]) -> QuerySet[AfterSalesCase]:
    """What a case row shows: shop, buyer; where its latest decision stands
    (``decision_state``, ``decision_failure_reason``: its outbox action's, "" when none). Never
    credentials nor the buyer's words (encrypted, not shown in the queue)."""
    return with_decision_state(
        qs.select_related("shop_account", "customer").defer(
            "shop_account__credentials",
            "customer__avatar_url",
            "buyer_reason",
            "lines",
            "amounts",
            "evidence",
            "history",
        )
    )


def decision_of(case: AfterSalesCase) -> tuple[str, str] | None:
    """A listed case's latest decision while it is not settled: (pending | sending | failed,
    the platform's reason); None otherwise (from ``_shown``'s annotations, no query)."""
    state = getattr(case, "decision_state", None) or ""
    if state in ("pending", "sending", "failed"):
        return state, getattr(case, "decision_failure_reason", None) or ""
    return None


def _due_from(column: str, offset: timedelta = timedelta(0)) -> Any:
    """A case's due time as a column of phase one (``queue_due``)."""
    from django.db.models import DateTimeField, ExpressionWrapper, F, Value

    if not offset:
        return F(column)
    return ExpressionWrapper(F(column) + Value(offset), output_field=DateTimeField())


def _sources(
    user: AnyUser, filters: QueueFilters, sort: str, kind: str, shops: list[int]
) -> list[_Source]:
    sources: list[_Source] = []
    if kind in ("all", "conversations"):
        sources.append(
            _Source(
                CONVERSATION,
                lambda: conversations_of_shops(user, filters, shops),
                (),  # conversation_list orders by the sort already
                conversation_after(sort, chat_reply_target()),
                per_shop=False,  # the conv_queue_open partial index serves every shop at once
                # The whole row at once: a page of conversations is one query of columns.
                keys=queue_rows.COLUMNS,
            )
        )
    if kind in ("all", "cases"):
        base = case_rows(user, filters, shops)
        if base is not None:
            sources += _case_sources(base, sort)
    return sources


def _case_sources(base: QuerySet[AfterSalesCase], sort: str) -> list[_Source]:
    """The sources of the cases ``base`` holds, for ``sort``: one by their SLA deadline (due),
    by their last activity (newest), else those with a seller deadline and those without."""
    if sort == "due":
        return [
            _Source(
                CASE,
                lambda: base,
                ("sla_due_at", "id"),
                case_after(sort, "sla_due_at", timedelta(0)),
                per_shop=True,  # case_due (shop, stage, sla_due_at, id), one scan a shop
                keys=CASE_KEYS,
                annotations={"queue_due": _due_from("sla_due_at")},
            )
        ]
    if sort == "newest":
        return [
            _Source(
                CASE,
                lambda: base,
                ("-platform_updated_at", "-id"),
                case_after(sort, "platform_updated_at", timedelta(0)),
                per_shop=False,
                keys=CASE_KEYS_NEWEST,
            )
        ]
    with_deadline = base.filter(seller_deadline__isnull=False)
    without = base.filter(seller_deadline__isnull=True)
    default = case_default_deadline()
    return [
        _Source(
            CASE,
            lambda: with_deadline,
            ("seller_deadline", "id"),
            case_after(sort, "seller_deadline", timedelta(0)),
            per_shop=True,  # case_queue (shop, stage, seller_deadline, id), one scan a shop
            keys=CASE_KEYS,
            annotations={"queue_due": _due_from("seller_deadline")},
        ),
        _Source(
            CASE,
            lambda: without,
            ("platform_created_at", "id"),
            case_after(sort, "platform_created_at", default),
            per_shop=False,  # few: the platform gives a deadline to what needs a decision
            keys=CASE_KEYS,
            annotations={"queue_due": _due_from("platform_created_at", default)},
        ),
    ]


def _key_parts(
    source: _Source,
    qs: QuerySet[Any] | None,
    position: tuple[int, ...] | None,
    limit: int,
    shops: list[int],
) -> list[tuple[tuple[str, ...], QuerySet[Any]]]:
    """Phase one, unread: up to ``limit`` rows of one source (``qs``) after the cursor, as
    sliced querysets of columns (no model instances): a case's ordering columns (phase two
    reads the page's cases), a conversation's whole row (``queue_rows``)."""
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
    names = source.keys
    qs = qs.select_related(None).prefetch_related(None)
    if source.annotations:
        qs = qs.annotate(**source.annotations)
    if source.per_shop and 1 < len(shops) <= PER_SHOP_SCANS_MAX and _compound_slices():
        # PostgreSQL does not merge ordered index scans over an IN list: one ordered, limited
        # scan of case_queue per shop, put together (UNION ALL) and merged here. Each reads a
        # page whatever the shop holds; for many shops one scan of the IN list (every open
        # case of those shops, sorted) reads less than a page per shop.
        return [(names, qs.filter(shop_account_id=s).values_list(*names)[:limit]) for s in shops]
    return [(names, qs.values_list(*names)[:limit])]


def _compound_slices() -> bool:
    return bool(connection.features.supports_slicing_ordering_in_compound)


def _read(
    parts: list[tuple[tuple[str, ...], QuerySet[Any]]],
    type_: int,
    shops: dict[int, queue_rows.ShopView],
) -> list[Any]:
    """Phase one, read: the parts of one type (same columns) in one query where the database
    allows; conversations as ``ConversationRow``s, cases' ordering columns as namespaces."""
    if not parts:
        return []
    return _items(list(_combined(parts)), type_, parts[0][0], shops)


def _combined(parts: list[tuple[tuple[str, ...], QuerySet[Any]]]) -> Any:
    """The parts' querysets as one (``UNION ALL``) where the database allows, else a list."""
    querysets = [qs for _, qs in parts]
    if not querysets:
        return []
    if len(querysets) > 1 and _compound_slices():
        return querysets[0].union(*querysets[1:], all=True)
    if len(querysets) == 1:
        return querysets[0]
    return [v for qs in querysets for v in qs]


def _items(
    values: list[Any], type_: int, names: tuple[str, ...], shops: dict[int, queue_rows.ShopView]
) -> list[Any]:
    if type_ == CONVERSATION:
        return [queue_rows.ConversationRow(v, shops) for v in values]
    return [SimpleNamespace(**dict(zip(names, v, strict=True))) for v in values]


def _hydrate(rows: list[QueueRow]) -> list[QueueRow]:
    """Phase two: the page's cases as model instances with what their rows show (one query),
    the conversations' tags (one query); the conversations themselves were read whole in
    phase one."""
    chats = [r.item for r in rows if r.kind == "conversation"]
    case_ids = [r.item.id for r in rows if r.kind == "case"]
    if chats:
        tags = tag_names_of([c.id for c in chats])
        for c in chats:
            c.tag_names = tags.get(c.id, [])
        queue_rows.attach_assignees(chats)
    cases: dict[int, Any] = {}
    if case_ids:
        cases = {c.id: c for c in _shown(AfterSalesCase.objects.filter(id__in=case_ids))}
    # A case gone between the two phases (deleted) is left out; one changed keeps the place
    # phase one saw, as if read a moment earlier.
    shown = []
    for r in rows:
        if r.kind == "conversation":
            shown.append(replace(r, due=shown_due(CONVERSATION, r.item)))
            continue
        case = cases.get(r.item.id)
        if case is not None:
            shown.append(replace(r, item=case, due=shown_due(CASE, case)))
    return shown


def _first_page(
    user: AnyUser, filters: QueueFilters, sort: str, kind: str, shops: list[int], limit: int
) -> dict[int, list[Any]] | None:
    """Phase one of a first page — each type's rows as ``_key_parts`` and ``_read`` would read
    them — with each type's statement compiled once per view (``read_compiled``: the sort,
    statuses, assignee and tag filters are its key; the shops, the person and the tag's id its
    values). None for what it does not cover — search, "waiting longer than", "due today"
    (values of the moment), an unknown tag, an assignee id beyond any person's: the ORM reads
    those."""
    if filters.search or filters.waiting_longer_than is not None or filters.due_before:
        return None
    values: list[Any] = [shops]
    assignee = filters.assignee
    if assignee == "me":
        values.append(user.pk)
    elif assignee.isascii() and assignee.isdigit():
        if len(assignee) > 9:
            return None
        values.append(int(assignee))
        assignee = "<id>"
    elif assignee != "unassigned":
        assignee = "anyone"
    tag_id = None
    if filters.tag:
        tag_id = tag_id_for(user, filters.tag)
        if tag_id is None:
            return None
        values.append(tag_id)
    tagged = tag_id is not None

    def given(ids: tuple[int, ...], column: str) -> tuple[QueueFilters, int, Q | None]:
        it = iter(ids)
        user_id = next(it) if assignee == "me" else 0
        as_filters = replace(
            filters,
            sort=sort,
            platform="",
            assignee=str(next(it)) if assignee == "<id>" else assignee,
            tag="",
        )
        return as_filters, user_id, tag_id_q(next(it), column) if tagged else None

    def conversations(shop_ids: list[int], *ids: int) -> QuerySet[Any]:
        as_filters, user_id, tag_q = given(ids, "pk")
        qs = conversations_filtered(as_filters, shop_ids, user_id=user_id, tag_q=tag_q)
        return (
            qs.select_related(None).prefetch_related(None).values_list(*queue_rows.COLUMNS)[:limit]
        )

    def cases(shop_ids: list[int], *ids: int) -> Any:
        as_filters, user_id, tag_q = given(ids, "conversation_id")
        base = cases_filtered(as_filters, shop_ids, user_id=user_id, tag_q=tag_q)
        return _combined(_case_parts(base, sort, limit, shop_ids))

    view = (sort, filters.statuses, assignee, tagged, limit)
    out: dict[int, list[Any]] = {CONVERSATION: [], CASE: []}
    if kind in ("all", "conversations"):
        out[CONVERSATION] = read_compiled(("queue.conversations", *view), conversations, *values)
    if kind in ("all", "cases") and (not filters.statuses or "open" in filters.statuses):
        if _compound_slices():
            # The default deadline is a constant of the statement: a changed setting, another.
            key = ("queue.cases", *view, case_default_deadline())
            out[CASE] = read_compiled(key, cases, *values)
        else:  # no UNION of sliced reads (SQLite): a statement a part, the ORM's way
            out[CASE] = list(
                _combined(_case_parts(case_rows(user, filters, shops), sort, limit, shops))
            )
    return out


def _case_parts(
    base: QuerySet[AfterSalesCase] | None, sort: str, limit: int, shops: list[int]
) -> list[tuple[tuple[str, ...], QuerySet[Any]]]:
    if base is None:
        return []
    return [
        part
        for source in _case_sources(base, sort)
        for part in _key_parts(source, source.queryset(), None, limit, shops)
    ]


def _phase_one_due(sort: str, kind: int, item: SimpleNamespace) -> datetime:
    if sort == "newest":  # the position is the last activity; the due time comes in phase two
        return ANSWERED_SENTINEL
    if sort == "due" and kind == CONVERSATION:
        return item.sla_due_at
    return conversation_due(item) if kind == CONVERSATION else item.queue_due


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
    sort = filters.sort if filters.sort in SORTS else "waiting"
    kind = kind if kind in KINDS else "all"
    shown = queue_rows.shops_shown_for(user)
    shops = (
        [s for s in filters.shop_account_ids if s in shown]
        if filters.shop_account_ids
        else list(shown)
    )
    if filters.platform:  # the shops' platform, known here: no join in the rows' queries
        shops = [s for s in shops if shown[s].platform == filters.platform]
        filters = replace(filters, platform="")
    position = parse_cursor(sort, cursor)
    rows: list[QueueRow] = []
    first = _first_page(user, filters, sort, kind, shops, limit + 1) if position is None else None
    if first is not None:
        case_keys = CASE_KEYS_NEWEST if sort == "newest" else CASE_KEYS
        phase_one = [
            _items(first[CONVERSATION], CONVERSATION, queue_rows.COLUMNS, shown),
            _items(first[CASE], CASE, case_keys, shown),
        ]
    else:
        parts: dict[int, list[tuple[tuple[str, ...], QuerySet[Any]]]] = {
            CONVERSATION: [],
            CASE: [],
        }
        for source in _sources(user, filters, sort, kind, shops):
            qs = source.queryset()
            parts[source.kind] += _key_parts(source, qs, position, limit + 1, shops)
        phase_one = [_read(type_parts, type_, shown) for type_, type_parts in parts.items()]
    for type_, items in zip((CONVERSATION, CASE), phase_one, strict=True):
        for item in items:
            due = _phase_one_due(sort, type_, item)
            rows.append(
                QueueRow(
                    "conversation" if type_ == CONVERSATION else "case",
                    item,
                    position_of(sort, type_, item, due),
                    due,  # replaced from the row itself in phase two
                )
            )
    rows.sort(key=lambda r: sort_key(sort, r.position))
    page = rows[:limit]
    next_cursor = page[-1].cursor if len(rows) > limit and page else None
    return QueuePage(_hydrate(page), next_cursor)


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
    sort = filters.sort if filters.sort in SORTS else "waiting"
    position = position_of(sort, CASE, case, sort_due(sort, CASE, case))
    row = QueueRow("case", case, position, shown_due(CASE, case))
    wanted = (
        [s for s in filters.shop_account_ids if s in shops] if filters.shop_account_ids else shops
    )
    listed = case_rows(user, filters, wanted) if kind in ("all", "cases") else None
    return row, listed is not None and listed.filter(id=case_id).exists()
