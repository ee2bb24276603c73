"""Builders of the after-sales rules tests: cases as ingestion stores them (no platform call),
with the reason, amount, SKU, buyer and history a rule looks at."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from inbox.models import AfterSalesCase, Customer, ShopAccount
from inbox.platforms.base import Participant
from inbox.services.ingestion import customer_upsert

DAMAGED = "ecom_order_delivered_refund_and_return_reason_damaged"
SIZE = "ecom_order_delivered_refund_and_return_reason_size_not_fit"
PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"

_seq = count(1)


def buyer(shop: ShopAccount, name: str = "Lucy W.") -> Customer:
    n = next(_seq)
    return customer_upsert(
        organisation_id=shop.organisation_id,
        platform=shop.platform,
        buyer=Participant(role="BUYER", im_user_id=f"rim-{n}", user_id=f"ru-{n}", nickname=name),
    )


def seeded_case(
    shop: ShopAccount,
    *,
    at: datetime,
    amount: str = "10.00",
    currency: str = "USD",
    reason: str = DAMAGED,
    words: str = "It arrived damaged in transit",
    kind: str = "refund",
    platform_type: str = "REFUND",
    status: str = PENDING,
    stage: str = "needs_decision",
    history: list | None = None,
    sku: str = "SKU-MUG",
    customer: Customer | None = None,
    family: str = "return",
) -> AfterSalesCase:
    """A case requested at ``at`` (its history: the request, then ``status`` if different)."""
    n = next(_seq)
    stamp = int(at.timestamp())
    if history is None:
        history = [[PENDING, stamp]] if status == PENDING else [[PENDING, stamp], [status, stamp]]
    return AfterSalesCase.objects.create(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        family=family,
        platform_case_id=f"41{n:08d}",
        kind=kind,
        platform_type=platform_type,
        platform_status=status,
        stage=stage,
        requested_by="BUYER",
        reason_code=reason,
        buyer_reason=words,
        lines=[{"sku_id": sku, "seller_sku": f"seller-{sku}", "refund_total": amount}],
        amounts={"refund_total": amount, "currency": currency},
        customer=customer if customer is not None else buyer(shop),
        history=history,
        platform_created_at=at,
        platform_updated_at=at,
    )
