"""The one queue's sources: where phase one of a page reads conversations and cases needing a
decision (inbox/selectors/queue.py puts the page together), with the filters each applies, and
the sliced, ordered reads of columns each makes after a cursor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from inbox.models import AfterSalesCase, CaseStage, ConversationTag
from inbox.selectors import queue_rows
from inbox.selectors.accounts import AnyUser, member_for
from inbox.selectors.conversations import (
    OPEN_STATUSES,
    QueueFilters,
    conversations_of_shops,
    tag_id_for,
    tagged_q,
)
from inbox.selectors.queue_keys import (
    CASE,
    CONVERSATION,
    Parts,
    after_cursor,
    case_after_parts,
    case_default_deadline,
    chat_reply_target,
    conversation_after_parts,
)

# Up to this many shops, the cases with a deadline are read shop by shop (see key_parts).
PER_SHOP_SCANS_MAX = 10
# The columns phase one reads of a case: its position's makings, no more.
CASE_KEYS = ("id", "queue_due")
CASE_KEYS_NEWEST = ("id", "platform_updated_at")


@dataclass(frozen=True)
class Source:
    kind: int
    queryset: Callable[[], QuerySet[Any] | None]
    order: tuple[str, ...]
    after: Callable[[tuple[int, ...]], Parts]  # the key after a cursor (after_cursor's parts)
    per_shop: bool  # read shop by shop (ordered index scans) and merge
    keys: tuple[str, ...]  # the columns phase one reads (a position's makings, no more)
    annotations: dict[str, Any] = field(default_factory=dict)
    # The source's rows of its type's base (the cases with a deadline of the cases).
    narrow: Callable[[QuerySet[Any]], QuerySet[Any]] = lambda qs: qs


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
        user_id=int(user.pk or 0),
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


def _due_from(column: str, offset: timedelta = timedelta(0)) -> Any:
    """A case's due time as a column of phase one (``queue_due``)."""
    from django.db.models import DateTimeField, ExpressionWrapper, F, Value

    if not offset:
        return F(column)
    return ExpressionWrapper(F(column) + Value(offset), output_field=DateTimeField())


def sources_for(
    user: AnyUser, filters: QueueFilters, sort: str, kind: str, shops: list[int]
) -> list[Source]:
    sources: list[Source] = []
    if kind in ("all", "conversations"):
        sources.append(conversation_source(user, filters, sort, shops))
    if kind in ("all", "cases"):
        base = case_rows(user, filters, shops)
        if base is not None:
            sources += case_sources(base, sort)
    return sources


def conversation_source(
    user: AnyUser, filters: QueueFilters, sort: str, shops: list[int]
) -> Source:
    if tag_led(filters, sort):
        return _tagged_source(user, filters, sort, shops)
    return Source(
        CONVERSATION,
        lambda: conversations_of_shops(user, filters, shops),
        (),  # conversation_list orders by the sort already
        conversation_after_parts(sort, chat_reply_target()),
        per_shop=False,  # the conv_queue_open partial index serves every shop at once
        # The whole row at once: a page of conversations is one query of columns.
        keys=queue_rows.COLUMNS,
    )


# A conversation's row (queue_rows.COLUMNS, in that order) read from its tag link.
TAGGED_COLUMNS = tuple(
    "conversation_id" if c == "id" else f"conversation__{c}" for c in queue_rows.COLUMNS
)


def tag_led(filters: QueueFilters, sort: str) -> bool:
    """Whether a view's conversations are read from their tag's links in queue order
    (``conv_tag_queue_open``): a tag's open work in the default order, whoever holds it.
    Other tag views test the queue's rows for the tag (``tagged_q``)."""
    return bool(
        filters.tag
        and sort == "waiting"
        and filters.statuses
        and set(filters.statuses) <= set(OPEN_STATUSES)
        and filters.assignee == "anyone"
        and not (filters.platform or filters.search or filters.due_before)
        and filters.waiting_longer_than is None
    )


def tagged_open(tag_id: int, shops: list[int], statuses: tuple[str, ...]) -> QuerySet[Any]:
    """The links of tag ``tag_id`` to open conversations of ``shops`` with one of
    ``statuses``, in the default queue's order: read from ``conv_tag_queue_open``, which
    stops after a page (the link's ``queue_key`` is the conversation's while it is open
    work, null otherwise: inbox/tag_links.py)."""
    return ConversationTag.objects.filter(
        tag_id=tag_id,
        queue_key__isnull=False,
        shop_account_id__in=shops,
        conversation__status__in=statuses,
    ).order_by("queue_key", "conversation_id")


def _tagged_source(user: AnyUser, filters: QueueFilters, sort: str, shops: list[int]) -> Source:
    conversation_after = conversation_after_parts(sort, chat_reply_target())

    def after(position: tuple[int, ...]) -> Parts:
        # The key's columns as the link has them: its queue_key (the conversation's) and
        # its conversation's id.
        return [
            ("conversation_id" if lhs == "id" else lhs, desc, value)
            for lhs, desc, value in conversation_after(position)
        ]

    def queryset() -> QuerySet[Any] | None:
        tag_id = tag_id_for(user, filters.tag)
        return None if tag_id is None else tagged_open(tag_id, shops, filters.statuses)

    return Source(CONVERSATION, queryset, (), after, per_shop=False, keys=TAGGED_COLUMNS)


def case_sources(base: QuerySet[AfterSalesCase] | None, sort: str) -> list[Source]:
    """The sources of the cases ``base`` holds, for ``sort``: one by their SLA deadline (due),
    by their last activity (newest), else those with a seller deadline and those without.
    (``base`` None: the sources' orders and keys only, never read.)"""
    if sort == "due":
        return [
            Source(
                CASE,
                lambda: base,
                ("sla_due_at", "id"),
                case_after_parts(sort, "sla_due_at", timedelta(0)),
                per_shop=True,  # case_due (shop, stage, sla_due_at, id), one scan a shop
                keys=CASE_KEYS,
                annotations={"queue_due": _due_from("sla_due_at")},
            )
        ]
    if sort == "newest":
        return [
            Source(
                CASE,
                lambda: base,
                ("-platform_updated_at", "-id"),
                case_after_parts(sort, "platform_updated_at", timedelta(0)),
                per_shop=False,
                keys=CASE_KEYS_NEWEST,
            )
        ]

    def dated(qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(seller_deadline__isnull=False)

    def undated(qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(seller_deadline__isnull=True)

    default = case_default_deadline()
    return [
        Source(
            CASE,
            lambda: dated(base) if base is not None else None,
            ("seller_deadline", "id"),
            case_after_parts(sort, "seller_deadline", timedelta(0)),
            per_shop=True,  # case_queue (shop, stage, seller_deadline, id), one scan a shop
            keys=CASE_KEYS,
            annotations={"queue_due": _due_from("seller_deadline")},
            narrow=dated,
        ),
        Source(
            CASE,
            lambda: undated(base) if base is not None else None,
            ("platform_created_at", "id"),
            case_after_parts(sort, "platform_created_at", default),
            per_shop=False,  # few: the platform gives a deadline to what needs a decision
            keys=CASE_KEYS,
            annotations={"queue_due": _due_from("platform_created_at", default)},
            narrow=undated,
        ),
    ]


def key_parts(
    source: Source,
    qs: QuerySet[Any] | None,
    after_parts: Parts | None,
    limit: int,
    shops: list[int],
) -> list[tuple[tuple[str, ...], QuerySet[Any]]]:
    """Phase one, unread: up to ``limit`` rows of one source (``qs``) after the cursor (its
    key's ``after_parts``; None: the first page), as sliced querysets of columns (no model
    instances): a case's ordering columns (phase two reads the page's cases), a
    conversation's whole row (``queue_rows``)."""
    if qs is None:
        return []
    if after_parts is not None:
        after = after_cursor(after_parts)
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
    if source.per_shop and 1 < len(shops) <= PER_SHOP_SCANS_MAX and compound_slices():
        # PostgreSQL does not merge ordered index scans over an IN list: one ordered, limited
        # scan of case_queue per shop, put together (UNION ALL) and merged here. Each reads a
        # page whatever the shop holds; for many shops one scan of the IN list (every open
        # case of those shops, sorted) reads less than a page per shop.
        return [(names, qs.filter(shop_account_id=s).values_list(*names)[:limit]) for s in shops]
    return [(names, qs.values_list(*names)[:limit])]


def compound_slices() -> bool:
    return bool(connection.features.supports_slicing_ordering_in_compound)


def combined(parts: list[tuple[tuple[str, ...], QuerySet[Any]]]) -> Any:
    """The parts' querysets as one (``UNION ALL``) where the database allows, else a list."""
    querysets = [qs for _, qs in parts]
    if not querysets:
        return []
    if len(querysets) > 1 and compound_slices():
        return querysets[0].union(*querysets[1:], all=True)
    if len(querysets) == 1:
        return querysets[0]
    return [v for qs in querysets for v in qs]
