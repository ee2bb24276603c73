"""The JSON shapes of after-sales cases, shared by the REST API and the ``case.updated`` event.

``case_payload`` is the queue's (no buyer words); ``case_detail_payload`` adds what the case
page shows: lines, amounts, the buyer's reason (personal), evidence, history and decisions.
"""

from __future__ import annotations

from typing import Any

from inbox.models import AfterSalesCase, AfterSalesDecision, OutboxAction
from inbox.payloads import person_payload
from scrm.images import safe_image_url

DECISION_KIND = "after_sales_decision"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def decision_state(case: AfterSalesCase) -> tuple[str, str]:
    """(state, failure reason) of the case's latest decision's outbox action; ("", "") when
    none. Uses the selectors' annotations when present (no query), else two small queries."""
    if hasattr(case, "decision_state"):
        annotated: Any = case
        return annotated.decision_state or "", annotated.decision_failure_reason or ""
    latest = (
        AfterSalesDecision.objects.filter(case_id=case.id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    if latest is None:
        return "", ""
    row = (
        OutboxAction.objects.filter(kind=DECISION_KIND, subject_id=latest)
        .values_list("state", "failure_reason")
        .first()
    )
    return (row[0], row[1]) if row else ("", "")


def case_payload(
    case: AfterSalesCase,
    *,
    decision: tuple[str, str] | None = None,
    deadline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A case as the queue and ``case.updated`` show it (inbox.events.CasePayload);
    ``decision`` gives the latest decision's (state, failure reason) when the caller knows it
    ahead of the database (the outbox's hooks run before it saves the new state); ``deadline``
    its open SLA deadline as the page read it (None: none open, or not read, as in events)."""
    state, reason = decision if decision is not None else decision_state(case)
    return {
        "id": case.id,
        "shop_account_id": case.shop_account_id,
        "family": case.family,
        "kind": case.kind,
        "stage": case.stage,
        "platform_status": case.platform_status,
        "seller_deadline": _iso(case.seller_deadline),
        "arbitration_status": case.arbitration_status,
        "conversation_id": case.conversation_id,
        "customer_id": case.customer_id,
        "decision_state": state,
        "decision_failure_reason": reason,
        "updated_at": _iso(case.updated_at),
        "deadline": deadline,
    }


def evidence_payload(evidence: Any) -> list[dict[str, Any]]:
    """The stored evidence, each URL checked again against the image policy on the way out
    (a policy narrowed since it was stored still holds)."""
    shown = []
    for item in evidence if isinstance(evidence, list) else []:
        if not isinstance(item, dict) or safe_image_url(item.get("url")) is None:
            continue
        shown.append({**item, "thumb_url": safe_image_url(item.get("thumb_url"))})
    return shown


def decision_payload(decision: AfterSalesDecision, action: OutboxAction | None) -> dict[str, Any]:
    """A decision and where its outbox action stands (the comment is not shown here)."""
    return {
        "id": decision.id,
        "verb": decision.verb,
        "decision": decision.decision,
        "reject_reason": decision.reject_reason,
        "partial_refund_amount": (
            str(decision.partial_refund_amount)
            if decision.partial_refund_amount is not None
            else None
        ),
        "currency": decision.currency,
        "author": person_payload(decision.author),
        "reply_id": decision.reply_id,
        "idempotency_key": decision.idempotency_key or None,
        "state": action.state if action else "",
        "failure_reason": action.failure_reason if action else "",
        "created_at": _iso(decision.created_at),
    }


def case_detail_payload(
    case: AfterSalesCase, *, options: list[Any], decisions: list[dict[str, Any]]
) -> dict[str, Any]:
    shop = case.shop_account
    customer = case.customer
    return {
        **case_payload(case),
        "platform_case_id": case.platform_case_id,
        "shop_account": {
            "id": shop.id,
            "name": shop.name,
            "platform": shop.platform,
            "region": shop.region,
            "time_zone": shop.time_zone,
        },
        "customer": (
            {"id": customer.id, "name": customer.display_name} if customer is not None else None
        ),
        "platform_type": case.platform_type,
        "requested_by": case.requested_by,
        "reason_code": case.reason_code,
        "buyer_reason": case.buyer_reason,
        "order_platform_id": case.order_platform_id,
        "seller_action": case.seller_action,
        "lines": case.lines,
        "amounts": case.amounts,
        "evidence": evidence_payload(case.evidence),
        "history": case.history,
        "decisions": decisions,
        "options": [
            {
                "name": o.name,
                "label": o.label,
                "verb": o.verb,
                "takes_amount": o.takes_amount,
                "takes_reason": o.takes_reason,
            }
            for o in options
        ],
        "platform_created_at": _iso(case.platform_created_at),
        "platform_updated_at": _iso(case.platform_updated_at),
        "created_at": _iso(case.created_at),
    }
