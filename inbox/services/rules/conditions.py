"""A rule's conditions, evaluated on the facts of one case: one pure function (``rule_matches``)
that the live path and the dry run share, so the dry run shows what enabling would do.

Buyer history counts the buyer's refund requests (refund only, return and refund; whatever
became of them) up to and including this one: ever, and in the calendar month of this request
in the shop's time zone. A rule acts on a request at the moment it waits for the seller's first
answer (``REQUEST_STATUSES``); the dry run takes each case at that moment too.
"""

from __future__ import annotations

import bisect
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from inbox.models import AfterSalesCase, AfterSalesRule, CaseKind
from inbox.services.aftersales_options import CANCEL_PENDING, EXCHANGE, PENDING, REPLACEMENT

# The statuses in which a request waits for the seller's first answer: what rules decide.
REQUEST_STATUSES = frozenset({PENDING, REPLACEMENT, EXCHANGE, CANCEL_PENDING})
REFUND_KINDS = (CaseKind.REFUND, CaseKind.RETURN_AND_REFUND)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What a rule looks at in one case (``reason_text``: the buyer's words, in memory only)."""

    case_id: int
    shop_account_id: int
    kind: str
    reason_code: str
    reason_text: str
    amount: Decimal | None
    currency: str
    skus: frozenset[str]
    requested_at: datetime
    refunds_month: int = 0
    refunds_ever: int = 0


def money(value: object) -> Decimal | None:
    """A platform decimal string as a Decimal (None when absent or not a number)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def skus_of(lines: Iterable[dict]) -> frozenset[str]:
    found: set[str] = set()
    for line in lines or ():
        for key in ("sku_id", "seller_sku"):
            value = str(line.get(key) or "").strip()
            if value:
                found.add(value)
    return frozenset(found)


def request_seen(status: str, history: list) -> bool:
    """Whether the case waited for a first answer (now, or at some point of its history)."""
    return status in REQUEST_STATUSES or any(
        entry and entry[0] in REQUEST_STATUSES for entry in history or ()
    )


def facts_of(
    case: AfterSalesCase, history: tuple[int, int] = (0, 0), *, reason_text: str | None = None
) -> CaseFacts:
    amounts = case.amounts or {}
    return CaseFacts(
        case_id=case.id,
        shop_account_id=case.shop_account_id,
        kind=case.kind,
        reason_code=case.reason_code,
        reason_text=case.buyer_reason if reason_text is None else reason_text,
        amount=money(amounts.get("refund_total")),
        currency=str(amounts.get("currency") or ""),
        skus=skus_of(case.lines),
        requested_at=case.platform_created_at,
        refunds_month=history[0],
        refunds_ever=history[1],
    )


def needs_history(rule: AfterSalesRule) -> bool:
    return rule.refunds_month_min is not None or rule.refunds_ever_min is not None


def rule_matches(rule: AfterSalesRule, facts: CaseFacts) -> bool:
    """Whether every condition of the rule holds for the case (an empty condition holds)."""
    if rule.shop_account_ids and facts.shop_account_id not in rule.shop_account_ids:
        return False
    if rule.kinds and facts.kind not in rule.kinds:
        return False
    if rule.reason_codes and facts.reason_code not in rule.reason_codes:
        return False
    if rule.reason_words:
        said = facts.reason_text.casefold()
        if not any(w.casefold() in said for w in rule.reason_words if w):
            return False
    if rule.amount_min is not None or rule.amount_max is not None:
        if facts.amount is None or facts.currency.upper() != rule.currency.upper():
            return False
        if rule.amount_min is not None and facts.amount < rule.amount_min:
            return False
        if rule.amount_max is not None and facts.amount > rule.amount_max:
            return False
    if rule.skus and not facts.skus & set(rule.skus):
        return False
    if rule.refunds_month_min is not None and facts.refunds_month < rule.refunds_month_min:
        return False
    return rule.refunds_ever_min is None or facts.refunds_ever >= rule.refunds_ever_min


class BuyerHistory:
    """The refund requests of a set of buyers, to count each one's up to a given request
    (one query for the set)."""

    def __init__(self, organisation_id: int, customer_ids: Iterable[int]) -> None:
        self.times: dict[int, list[datetime]] = defaultdict(list)
        ids = sorted(set(customer_ids))
        for start in range(0, len(ids), 5000):
            rows = AfterSalesCase.objects.filter(
                organisation_id=organisation_id,
                customer_id__in=ids[start : start + 5000],
                kind__in=REFUND_KINDS,
            ).values_list("customer_id", "platform_created_at")
            for customer_id, when in rows:
                self.times[customer_id].append(when)
        for times in self.times.values():
            times.sort()

    def counts(self, customer_id: int | None, when: datetime, zone: str) -> tuple[int, int]:
        """(this calendar month in ``zone``, ever), up to and including ``when``."""
        if customer_id is None:
            return (0, 0)
        times = self.times.get(customer_id, [])
        ever = bisect.bisect_right(times, when)
        local = when.astimezone(zoneinfo.ZoneInfo(zone or "UTC"))
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (ever - bisect.bisect_left(times, month_start), ever)
