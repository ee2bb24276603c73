"""After-sales cases: returns and cancellations read from the platform and stored once.

Invariants kept here:
- a case is stored once per (shop account, family, platform id), whatever duplicated,
  reordered or replayed webhooks and backfill runs deliver: its row is locked while it is
  written, and a concurrent first insert falls back to the row the other writer made;
- a case never moves backwards: a read whose platform ``update_time`` is older than the stored
  one changes nothing, nor one of the same second that shows an earlier point of the case's
  life (``LIFE``) (webhooks are a signal only; the handler re-reads the case);
- a lost webhook costs a delay, never a case: the returns and cancellations streams page the
  platform's searches by ``update_time`` from their own cursor;
- the buyer is linked by the order's ``user_id`` (Get Order Detail, one call for up to 50
  orders); a buyer who never chatted gets a customer known by that id alone;
- the buyer's words are stored encrypted and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from inbox.hooks import CaseStageChanged, case_stage_changed
from inbox.models import (
    AfterSalesCase,
    CaseFamily,
    CaseKind,
    CaseStage,
    Customer,
    ShopAccount,
)
from inbox.platforms.base import (
    Page,
    PlatformAfterSales,
    ShopApi,
    is_platform_id,
)
from inbox.services.aftersales_links import case_evidence_read, case_ingested
from inbox.services.aftersales_options import ARBITRATION_OPEN
from inbox.services.ingestion import StreamRun, shop_api

logger = logging.getLogger(__name__)

MAX_CASE_PAGES = 100  # 5,000 cases per backfill run of a stream
CASE_SLACK = timedelta(minutes=10)  # re-read this far behind the stream's mark
MAX_HISTORY = 100  # statuses kept per case

# The platform's type -> our kind.
KINDS: dict[str, str] = {
    "REFUND": CaseKind.REFUND,
    "RETURN_AND_REFUND": CaseKind.RETURN_AND_REFUND,
    "REPLACEMENT": CaseKind.REPLACEMENT,
    "EXCHANGE": CaseKind.EXCHANGE,
    "CANCEL": CaseKind.CANCELLATION,
    "BUYER_CANCEL": CaseKind.CANCELLATION,
}

# The platform's status -> our stage: the one table that decides it (docs/platforms/
# tiktok-shop.md §4). A status not listed is NEEDS_DECISION while the platform names a seller
# action for it, WAITING otherwise.
STAGES: dict[str, str] = {
    # returns: the seller must answer
    "RETURN_OR_REFUND_REQUEST_PENDING": CaseStage.NEEDS_DECISION,
    "REPLACEMENT_REQUEST_PENDING": CaseStage.NEEDS_DECISION,
    "EXCHANGE_REQUEST_PENDING": CaseStage.NEEDS_DECISION,
    "BUYER_SHIPPED_ITEM": CaseStage.NEEDS_DECISION,  # the received package is to be judged
    # returns: waiting on the buyer or the parcel
    "AWAITING_BUYER_SHIP": CaseStage.WAITING,
    "AWAITING_BUYER_RESPONSE": CaseStage.WAITING,
    # returns: the seller (or the platform) has decided
    "REFUND_OR_RETURN_REQUEST_REJECT": CaseStage.DECIDED,
    "REJECT_RECEIVE_PACKAGE": CaseStage.DECIDED,
    "REPLACEMENT_REQUEST_REJECT": CaseStage.DECIDED,
    "RETURN_OR_REFUND_REQUEST_SUCCESS": CaseStage.DECIDED,
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": CaseStage.DECIDED,
    "EXCHANGE_REQUEST_REFUND_SUCCESS": CaseStage.DECIDED,
    # returns: over
    "RETURN_OR_REFUND_REQUEST_CANCEL": CaseStage.CLOSED,
    "RETURN_OR_REFUND_REQUEST_COMPLETE": CaseStage.CLOSED,
    "REPLACEMENT_REQUEST_CANCEL": CaseStage.CLOSED,
    "REPLACEMENT_REQUEST_COMPLETE": CaseStage.CLOSED,
    "EXCHANGE_REQUEST_CANCEL": CaseStage.CLOSED,
    "EXCHANGE_REQUEST_COMPLETE": CaseStage.CLOSED,
    # cancellations
    "CANCELLATION_REQUEST_PENDING": CaseStage.NEEDS_DECISION,
    "CANCELLATION_REQUEST_SUCCESS": CaseStage.DECIDED,
    "CANCELLATION_REQUEST_CANCEL": CaseStage.CLOSED,
    "CANCELLATION_REQUEST_CANCELLED": CaseStage.CLOSED,  # webhook 11's spelling
    "CANCELLATION_REQUEST_COMPLETE": CaseStage.CLOSED,
}


# A status's place in a case's life, for two reads stamped with the same second (the platform's
# ``update_time`` has no finer grain): the later one is the one further on. An arbitration
# goes first (a ruling may send a rejected return back to AWAITING_BUYER_SHIP).
LIFE: dict[str, int] = {
    "AWAITING_BUYER_SHIP": 10,
    "BUYER_SHIPPED_ITEM": 20,
    "AWAITING_BUYER_RESPONSE": 25,  # a partial refund offered, also after the parcel came
    **{s: 30 for s, stage in STAGES.items() if stage == CaseStage.DECIDED},
    **{s: 40 for s, stage in STAGES.items() if stage == CaseStage.CLOSED},
}


def _life(status: str, arbitration: str) -> tuple[int, int] | None:
    if status not in LIFE and not status.endswith("_PENDING"):
        return None
    phase = 0 if not arbitration else 1 if arbitration in ARBITRATION_OPEN else 2
    return (phase, LIFE.get(status, 0))


def _behind(row: AfterSalesCase, case: PlatformAfterSales) -> bool:
    """Whether a read stamped with the stored state's second shows an earlier point of the
    case's life (then it is a stale read that lost a race, and changes nothing)."""
    new = _life(case.status, case.arbitration_status)
    old = _life(row.platform_status, row.arbitration_status)
    if new is not None and old is not None and new != old:
        return new < old
    # Unknown statuses: one we saw and left is behind.
    return case.status != row.platform_status and any(
        entry[0] == case.status for entry in row.history[:-1]
    )


def case_stage(case: PlatformAfterSales) -> str:
    """Our stage for the platform's status (``STAGES``)."""
    stage = STAGES.get(case.status)
    if stage is not None:
        return stage
    return CaseStage.NEEDS_DECISION if case.seller_action else CaseStage.WAITING


def _kind(case: PlatformAfterSales) -> str:
    if case.family == CaseFamily.CANCELLATION:
        return CaseKind.CANCELLATION
    return KINDS.get(case.type, CaseKind.REFUND)


def _fields(case: PlatformAfterSales) -> dict[str, object]:
    """The stored columns of a platform case (all but its keys, customer and history)."""
    return {
        "kind": _kind(case),
        "platform_type": case.type[:32],
        "platform_status": case.status[:64],
        "stage": case_stage(case),
        "requested_by": case.role[:16],
        "reason_code": case.reason[:128],
        "buyer_reason": case.reason_text,
        "lines": [
            {
                "line_item_id": line.line_item_id,
                "order_line_item_id": line.order_line_item_id,
                "sku_id": line.sku_id,
                "sku_name": line.sku_name,
                "product_name": line.product_name,
                "seller_sku": line.seller_sku,
                "image_url": line.image_url,
                "refund_total": line.refund_total,
                "currency": line.currency,
            }
            for line in case.lines
        ],
        "amounts": {"refund_total": case.refund_total, "currency": case.currency, **case.extra},
        "seller_action": case.seller_action[:64],
        "seller_deadline": case.seller_deadline,
        "arbitration_status": case.arbitration_status[:64],
        "order_platform_id": case.order_id[:128],
        "platform_created_at": case.create_time,
        "platform_updated_at": case.update_time,
    }


def _history_add(history: list, case: PlatformAfterSales) -> list:
    entry = [case.status, int(case.update_time.timestamp())]
    if history and history[-1][0] == case.status:
        return history
    return [*history, entry][-MAX_HISTORY:]


# --- customers known by their platform user id -----------------------------------------------
def customer_for_user_id(*, organisation_id: int, platform: str, user_id: str) -> Customer:
    """The organisation's customer with this platform ``user_id`` (the id orders and returns
    name the buyer by); a buyer who never chatted gets a customer known by it alone, with the
    placeholder chat id ``user:<user_id>`` until a conversation links the two."""
    existing = (
        Customer.objects.filter(
            organisation_id=organisation_id, platform=platform, platform_user_id=user_id
        )
        .order_by("id")
        .first()
    )
    if existing is not None:
        return existing
    placeholder = f"user:{user_id}"
    try:
        with transaction.atomic():
            return Customer.objects.create(
                organisation_id=organisation_id,
                platform=platform,
                im_user_id=placeholder,
                platform_user_id=user_id,
            )
    except IntegrityError:  # created concurrently
        return Customer.objects.get(
            organisation_id=organisation_id, platform=platform, im_user_id=placeholder
        )


def _buyers_by_order(
    shop: ShopAccount, api: ShopApi, cases: Sequence[PlatformAfterSales]
) -> dict[str, Customer]:
    """order id -> customer, for the cases whose stored row has no customer yet, through the
    orders service (stored orders while fresh, else one Get Order Detail call per 50 orders,
    each order stored). Best effort: when the orders cannot be read, the cases are stored
    without their buyer, and the next read of each links it."""
    linked = set(
        AfterSalesCase.objects.filter(
            shop_account=shop,
            family__in={c.family for c in cases},
            platform_case_id__in=[c.case_id for c in cases],
            customer__isnull=False,
        ).values_list("family", "platform_case_id")
    )
    wanted = sorted(
        {
            c.order_id
            for c in cases
            if (c.family, c.case_id) not in linked and is_platform_id(c.order_id)
        }
    )
    if not wanted:
        return {}
    # The orders service stores each order it reads (and logs a failure without data).
    from inbox.services.orders import orders_for

    orders = orders_for(shop=shop, order_ids=wanted, api=api)
    return {oid: o.customer for oid, o in orders.items() if o.customer is not None}


# --- storing ---------------------------------------------------------------------------------
@transaction.atomic
def after_sales_case_upsert(
    *,
    shop: ShopAccount,
    case: PlatformAfterSales,
    customer: Customer | None = None,
    evidence: list[dict] | None = None,
) -> tuple[AfterSalesCase, bool]:
    """Store the platform's current state of one case; returns (case, changed).

    Keeps: one row per (shop account, family, platform id); a state older than the stored
    one (by the platform's ``update_time``) changes nothing; the status history gains the
    status when it differs from the last one seen; a customer once linked stays linked; a new
    stage (or a needed decision's moved seller deadline) is announced (``case_stage_changed``);
    ``evidence`` (read from the return's records, None when not read) replaces the stored
    one; a changed case is linked to its buyer's conversation and published (``case.updated``).
    """
    keys = {"shop_account": shop, "family": case.family, "platform_case_id": case.case_id}
    row = AfterSalesCase.objects.select_for_update().filter(**keys).first()
    if row is None:
        try:
            with transaction.atomic():
                row = AfterSalesCase.objects.create(
                    **keys,
                    organisation_id=shop.organisation_id,
                    customer=customer,
                    history=_history_add([], case),
                    evidence=evidence or [],
                    **_fields(case),
                )
            case_stage_changed.emit(CaseStageChanged(case=row, before=None, after=row.stage))
            case_ingested(row, changed=True)
            return row, True
        except IntegrityError:  # stored concurrently: take the lock on theirs
            row = AfterSalesCase.objects.select_for_update().get(**keys)
    changed: list[str] = []
    stage_before = row.stage
    if row.customer_id is None and customer is not None:
        row.customer = customer
        changed.append("customer")
    if case.update_time > row.platform_updated_at or (
        case.update_time == row.platform_updated_at and not _behind(row, case)
    ):
        fields = _fields(case)
        for name, value in fields.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed.append(name)
        history = _history_add(list(row.history), case)
        if history != row.history:
            row.history = history
            changed.append("history")
        if evidence is not None and evidence != row.evidence:
            row.evidence = evidence
            changed.append("evidence")
    if changed:
        row.save(update_fields=[*changed, "updated_at"])
    if "stage" in changed or (
        "seller_deadline" in changed and row.stage == CaseStage.NEEDS_DECISION
    ):
        case_stage_changed.emit(CaseStageChanged(case=row, before=stage_before, after=row.stage))
    case_ingested(row, changed=bool(changed))
    return row, bool(changed)


def after_sales_cases_store(
    *, shop: ShopAccount, api: ShopApi, cases: Sequence[PlatformAfterSales]
) -> int:
    """Store a batch of cases read from the platform, linking each new one to its buyer
    (one order read for the batch); returns how many rows were created or changed."""
    buyers = _buyers_by_order(shop, api, cases)
    unread = _evidence_unread(shop, cases)
    stored = 0
    for case in cases:
        evidence = (
            case_evidence_read(api, shop_id=shop.pk, return_id=case.case_id)
            if case.case_id in unread
            else None
        )
        _, changed = after_sales_case_upsert(
            shop=shop, case=case, customer=buyers.get(case.order_id), evidence=evidence
        )
        stored += changed
    return stored


def _evidence_unread(shop: ShopAccount, cases: Sequence[PlatformAfterSales]) -> set[str]:
    """The returns of the batch whose records are to be read: new ones, and those the platform
    changed since the state stored (one query for the batch)."""
    returns = [c for c in cases if c.family == CaseFamily.RETURN]
    stored = dict(
        AfterSalesCase.objects.filter(
            shop_account=shop,
            family=CaseFamily.RETURN,
            platform_case_id__in=[c.case_id for c in returns],
        ).values_list("platform_case_id", "platform_updated_at")
    )
    return {
        c.case_id for c in returns if c.case_id not in stored or c.update_time > stored[c.case_id]
    }


def _search(api: ShopApi, family: str) -> Callable[..., Page[PlatformAfterSales]]:
    if family == CaseFamily.RETURN:
        return lambda ids=(), **kw: api.search_returns(return_ids=ids, **kw)
    return lambda ids=(), **kw: api.search_cancellations(cancel_ids=ids, **kw)


def after_sales_case_sync(
    *, shop: ShopAccount, family: str, case_id: str, api: ShopApi | None = None
) -> AfterSalesCase | None:
    """Re-read one case from the platform and store it (a webhook is a signal only); None if
    the platform does not know it for this shop."""
    api = api or shop_api(shop)
    page = _search(api, family)(ids=[case_id])
    found = [c for c in page.items if c.case_id == case_id and c.family == family]
    if not found:
        return None
    after_sales_cases_store(shop=shop, api=api, cases=found)
    return AfterSalesCase.objects.get(shop_account=shop, family=family, platform_case_id=case_id)


# --- backfill streams ------------------------------------------------------------------------
def after_sales_stream_read(
    shop: ShopAccount, api: ShopApi, high_water: datetime | None, *, family: str
) -> StreamRun:
    """The returns or cancellations stream: page the family's search by update time, oldest
    first, from the mark (minus a slack) and store every case. Oldest first, so everything up
    to the newest update seen is stored even when a run stops at its page limit: the mark
    moves on (the run counts as complete) and the next run reads from there."""
    since = None if high_water is None else int((high_water - CASE_SLACK).timestamp())
    search = _search(api, family)
    newest = high_water
    stored = 0
    token = ""
    for _ in range(MAX_CASE_PAGES):
        page = search(update_time_ge=since, page_token=token)
        stored += after_sales_cases_store(shop=shop, api=api, cases=page.items)
        for case in page.items:
            if newest is None or case.update_time > newest:
                newest = case.update_time
        if not page.has_more:
            break
        token = page.next_page_token
    else:
        logger.info("%s backfill of shop %s reached its page limit", family, shop.pk)
    return StreamRun(stored=stored, newest=newest, complete=True)
