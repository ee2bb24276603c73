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

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from inbox.models import AfterSalesCase
from inbox.models.conversations import ANSWERED_SENTINEL
from inbox.selectors import queue_rows, queue_sources
from inbox.selectors.accounts import AnyUser, shop_account_ids_for
from inbox.selectors.aftersales import with_decision_state
from inbox.selectors.conversations import (
    QueueFilters,
    conversations_filtered,
    tag_id_for,
    tag_id_q,
    tag_names_of,
)
from inbox.selectors.queue_keys import (
    CASE,
    CONVERSATION,
    KINDS,
    SORTS,
    QueuePage,
    QueueRow,
    after_cursor,
    case_default_deadline,
    conversation_due,
    parse_cursor,
    parts_of_shape,
    parts_shape,
    position_of,
    shown_due,
    sort_due,
    sort_key,
)
from inbox.selectors.queue_sources import (
    CASE_KEYS,
    CASE_KEYS_NEWEST,
    Source,
    case_rows,
    case_sources,
    cases_filtered,
    combined,
    compound_slices,
    conversation_source,
    key_parts,
    sources_for,
)
from scrm.compiled import read_compiled


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


def _read(
    parts: list[tuple[tuple[str, ...], QuerySet[Any]]],
    type_: int,
    shops: dict[int, queue_rows.ShopView],
) -> list[Any]:
    """Phase one, read: the parts of one type (same columns) in one query where the database
    allows; conversations as ``ConversationRow``s, cases' ordering columns as namespaces."""
    if not parts:
        return []
    return _items(list(combined(parts)), type_, parts[0][0], shops)


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


def _filter_values(user: AnyUser, filters: QueueFilters) -> tuple[list[int], str, bool] | None:
    """The ids a view's filters give its compiled statement (the person for "mine", an
    assignee's id, the tag's id), the assignee filter's kind (me, <id>, unassigned, anyone)
    and whether a tag filters; None for an assignee id beyond any person's or an unknown tag."""
    ids: list[int] = []
    assignee = filters.assignee
    if assignee == "me":
        ids.append(int(user.pk or 0))
    elif assignee.isascii() and assignee.isdigit():
        if len(assignee) > 9:
            return None
        ids.append(int(assignee))
        assignee = "<id>"
    elif assignee != "unassigned":
        assignee = "anyone"
    if filters.tag:
        tag_id = tag_id_for(user, filters.tag)
        if tag_id is None:
            return None
        ids.append(tag_id)
    return ids, assignee, bool(filters.tag)


def _page_compiled(
    user: AnyUser,
    filters: QueueFilters,
    sort: str,
    kind: str,
    shops: list[int],
    limit: int,
    position: tuple[int, ...] | None,
) -> dict[int, list[Any]] | None:
    """Phase one — each type's rows as ``key_parts`` and ``_read`` would read them — with
    each type's statement compiled once per view (``read_compiled``): the sort, statuses,
    assignee and tag filters and the cursor's shape are its key; the shops, the person, the
    tag's id and the cursor's values its values. None for what it does not cover — search,
    "waiting longer than", "due today" (values of the moment), an unknown tag, an assignee id
    beyond any person's, a cursor outside PostgreSQL (SQLite's adapter turns the cursor's
    times into text) or of the priority sort: the ORM reads those."""
    if filters.search or filters.waiting_longer_than is not None or filters.due_before:
        return None
    if position is not None and (connection.vendor != "postgresql" or sort == "priority"):
        # (a priority is a small integer: a marker would overflow it, read_compiled refuses)
        return None
    filter_values = _filter_values(user, filters)
    if filter_values is None:
        return None
    ids, assignee, tagged = filter_values
    values: list[Any] = [shops, *ids]

    def given(it: Iterator[Any], column: str) -> tuple[QueueFilters, int, Q | None]:
        user_id = next(it) if assignee == "me" else 0
        as_filters = replace(
            filters,
            sort=sort,
            platform="",
            assignee=str(next(it)) if assignee == "<id>" else assignee,
            tag="",
        )
        return as_filters, user_id, tag_id_q(next(it), column) if tagged else None

    def cursor(source: Source) -> tuple[Any, list[Any]]:
        """The cursor's shape for ``source`` (None: first page; False: nothing after it) and
        its values."""
        if position is None:
            return None, []
        parts = source.after(position)
        if after_cursor(parts) is False:
            return False, []
        return parts_shape(parts)

    view = (sort, filters.statuses, assignee, tagged, limit)
    out: dict[int, list[Any]] = {CONVERSATION: [], CASE: []}
    with_cases = kind in ("all", "cases") and (not filters.statuses or "open" in filters.statuses)
    if with_cases and not compound_slices():  # no UNION of sliced reads (SQLite): the ORM's way
        return None
    if kind in ("all", "conversations"):
        source = conversation_source(user, filters, sort, shops)
        shape, cursor_values = cursor(source)

        led = queue_sources.tag_led(filters, sort)

        def conversations(shop_ids: list[int], *rest: Any) -> QuerySet[Any]:
            it = iter(rest)
            if led:  # the tag's links in queue order (ids: the tag's only)
                qs = queue_sources.tagged_open(next(it), shop_ids, filters.statuses)
            else:
                as_filters, user_id, tag_q = given(it, "pk")
                qs = conversations_filtered(as_filters, shop_ids, user_id=user_id, tag_q=tag_q)
            after = parts_of_shape(shape, it) if shape else None
            ((_, part),) = key_parts(source, qs, after, limit, shop_ids)
            return part

        if shape is not False:
            key = ("queue.conversations", *view, shape)
            out[CONVERSATION] = read_compiled(key, conversations, *values, *cursor_values)
    if with_cases:
        sources = [(s, *cursor(s)) for s in case_sources(None, sort)]
        sources = [(s, shape, v) for s, shape, v in sources if shape is not False]

        def cases(shop_ids: list[int], *rest: Any) -> Any:
            it = iter(rest)
            as_filters, user_id, tag_q = given(it, "conversation_id")
            base = cases_filtered(as_filters, shop_ids, user_id=user_id, tag_q=tag_q)
            parts = []
            for source, shape, _ in sources:
                after = parts_of_shape(shape, it) if shape else None
                parts += key_parts(source, source.narrow(base), after, limit, shop_ids)
            return combined(parts)

        if sources:
            # The default deadline is a constant of the statement and the per-shop bound
            # its structure: a changed setting, another statement.
            shaped = (case_default_deadline(), queue_sources.PER_SHOP_SCANS_MAX)
            key = ("queue.cases", *view, *shaped, *(s[1] for s in sources))
            out[CASE] = read_compiled(key, cases, *values, *(v for s in sources for v in s[2]))
    return out


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
    first = _page_compiled(user, filters, sort, kind, shops, limit + 1, position)
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
        for source in sources_for(user, filters, sort, kind, shops):
            qs = source.queryset()
            after = source.after(position) if position is not None else None
            parts[source.kind] += key_parts(source, qs, after, limit + 1, shops)
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
