"""The dry run: what a rule would have done over the last 30 days, case by case, with the
refund amount of the cases it would have acted on; stored (``RuleDryRun``) for the rule's
version, which enabling requires.

Invariants kept here:
- the same ``rule_matches`` as the live path, on each case as it stood when it waited for the
  seller's first answer (a case that never did is not one a rule could have acted on);
- one read of the window's cases (the conditions a database can test are tested there), one of
  the buyers' refund history when the rule asks for it; the buyer's words are decrypted only
  when the rule looks at them, and never leave memory;
- ``totals`` per currency over the cases the rule would have acted on; a decision the case's
  type does not allow (e.g. rejecting an exchange) is a case left to a person, listed, not
  counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from inbox.models import AfterSalesCase, AfterSalesRule, RuleDryRun, ShopAccount
from inbox.selectors.accounts import AnyUser
from inbox.selectors.rules import rule_get_for_supervisor
from inbox.services.rules.conditions import (
    REQUEST_STATUSES,
    BuyerHistory,
    CaseFacts,
    money,
    needs_history,
    request_seen,
    rule_matches,
    skus_of,
)
from inbox.services.rules.decisions import rule_decision_name
from monitoring.audit import audit_record
from scrm.fields import open_sealed

DRY_RUN_DAYS = 30
DRY_RUN_ROWS = 1000  # cases kept one by one; all are counted and totalled
_FIELDS = (
    "id",
    "platform_case_id",
    "shop_account_id",
    "family",
    "kind",
    "platform_type",
    "platform_status",
    "reason_code",
    "amounts",
    "lines",
    "customer_id",
    "history",
    "platform_created_at",
)


@dataclass
class DryRunResult:
    matched: int
    scanned: int
    totals: dict[str, Decimal]
    rows: list[dict[str, Any]]


def _candidates(rule: AfterSalesRule, start: datetime, end: datetime) -> Any:
    qs = AfterSalesCase.objects.filter(
        organisation_id=rule.organisation_id,
        platform_created_at__gte=start,
        platform_created_at__lt=end,
    )
    if rule.shop_account_ids:
        qs = qs.filter(shop_account_id__in=rule.shop_account_ids)
    if rule.kinds:
        qs = qs.filter(kind__in=rule.kinds)
    if rule.reason_codes:
        qs = qs.filter(reason_code__in=rule.reason_codes)
    fields = _FIELDS + (("buyer_reason", "row_uid") if rule.reason_words else ())
    return qs.order_by("-platform_created_at", "-id").values_list(*fields)


def _request_status(status: str, history: list) -> str:
    if status in REQUEST_STATUSES:
        return status
    for entry in history or ():
        if entry and entry[0] in REQUEST_STATUSES:
            return str(entry[0])
    return ""


def rule_evaluate_window(rule: AfterSalesRule, start: datetime, end: datetime) -> DryRunResult:
    """Evaluate ``rule`` on every case of its organisation requested in [start, end)."""
    rows = list(_candidates(rule, start, end))
    zones = dict(
        ShopAccount.objects.filter(organisation_id=rule.organisation_id).values_list(
            "id", "time_zone"
        )
    )
    history = (
        BuyerHistory(rule.organisation_id, (r[10] for r in rows if r[10]))
        if needs_history(rule)
        else None
    )
    result = DryRunResult(matched=0, scanned=len(rows), totals={}, rows=[])
    for row, facts in _facts(rows, rule, zones, history):
        if not rule_matches(rule, facts):
            continue
        status = _request_status(row[6], row[11])
        decision = (
            rule_decision_name(row[3], status, row[5], rule.decision) if rule.decision else ""
        )
        to_person = bool(rule.decision) and not decision
        result.matched += 1
        if not to_person and facts.amount is not None:
            key = facts.currency or "?"
            result.totals[key] = result.totals.get(key, Decimal("0")) + facts.amount
        if len(result.rows) < DRY_RUN_ROWS:
            result.rows.append(_row(row, facts, decision, to_person))
    return result


def _facts(
    rows: list[tuple], rule: AfterSalesRule, zones: dict[int, str], history: BuyerHistory | None
) -> Iterator[tuple[tuple, CaseFacts]]:
    for row in rows:
        if not request_seen(row[6], row[11]):
            continue
        text = (
            open_sealed(AfterSalesCase, "buyer_reason", row[13], row[14]) or ""
            if rule.reason_words
            else ""
        )
        counts = (
            history.counts(row[10], row[12], zones.get(row[2], "UTC"))
            if history is not None
            else (0, 0)
        )
        amounts = row[8] or {}
        yield (
            row,
            CaseFacts(
                case_id=row[0],
                shop_account_id=row[2],
                kind=row[4],
                reason_code=row[7],
                reason_text=text,
                amount=money(amounts.get("refund_total")),
                currency=str(amounts.get("currency") or ""),
                skus=skus_of(row[9]),
                requested_at=row[12],
                refunds_month=counts[0],
                refunds_ever=counts[1],
            ),
        )


def _row(row: tuple, facts: CaseFacts, decision: str, to_person: bool) -> dict[str, Any]:
    return {
        "case_id": row[0],
        "platform_case_id": row[1],
        "shop_account_id": row[2],
        "kind": row[4],
        "reason_code": row[7],
        "amount": str(facts.amount) if facts.amount is not None else None,
        "currency": facts.currency,
        "requested_at": row[12].isoformat(),
        "decision": decision,
        "to_person": to_person,
    }


@transaction.atomic
def rule_dry_run(*, actor: AnyUser, rule_id: int, now: datetime | None = None) -> RuleDryRun:
    """Run the rule's current version over the last ``DRY_RUN_DAYS`` days and store the result
    (audited as ``after_sales_rule.dry_run``). Supervisors and admins of the rule's
    organisation only (another organisation's rule is a 404)."""
    rule = rule_get_for_supervisor(actor, rule_id)
    end = now or timezone.now()
    start = end - timedelta(days=DRY_RUN_DAYS)
    began = time.perf_counter()
    result = rule_evaluate_window(rule, start, end)
    run = RuleDryRun.objects.create(
        organisation_id=rule.organisation_id,
        rule=rule,
        rule_version=rule.version,
        window_start=start,
        window_end=end,
        matched=result.matched,
        scanned=result.scanned,
        totals={k: str(v) for k, v in sorted(result.totals.items())},
        rows=result.rows,
        elapsed_ms=int((time.perf_counter() - began) * 1000),
        created_by_id=actor.pk,
    )
    audit_record(
        organisation_id=rule.organisation_id,
        actor=actor,
        action="after_sales_rule.dry_run",
        target=run,
        data={"rule_id": rule.id, "version": rule.version, "matched": result.matched},
    )
    return run
