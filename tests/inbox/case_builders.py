"""After-sales cases as ingestion stores them, for queue tests (no platform call)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

from inbox.models import AfterSalesCase, Conversation, Customer, ShopAccount
from inbox.platforms.base import Participant
from inbox.services.ingestion import customer_upsert

_seq = count(1)


def case_needing_decision(
    shop: ShopAccount,
    *,
    due_in: timedelta | None = timedelta(hours=20),
    asked: timedelta = timedelta(hours=4),
    buyer: str = "Lucy W.",
    customer: Customer | None = None,
    conversation: Conversation | None = None,
    stage: str = "needs_decision",
    kind: str = "refund",
    now: datetime | None = None,
) -> AfterSalesCase:
    """A refund request asked ``asked`` ago with the seller deadline ``due_in`` from now (None:
    the platform gave none)."""
    n = next(_seq)
    now = now or timezone.now()
    if customer is None and conversation is not None:
        customer = conversation.customer
    if customer is None:
        customer = customer_upsert(
            organisation_id=shop.organisation_id,
            platform=shop.platform,
            buyer=Participant(
                role="BUYER", im_user_id=f"cim-{n}", user_id=f"cu-{n}", nickname=buyer
            ),
        )
    return AfterSalesCase.objects.create(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        family="return",
        platform_case_id=f"40{n:06d}",
        kind=kind,
        platform_type="REFUND",
        platform_status="RETURN_OR_REFUND_REQUEST_PENDING",
        stage=stage,
        seller_deadline=None if due_in is None else now + due_in,
        order_platform_id=f"57{n:06d}",
        customer=customer,
        conversation=conversation,
        platform_created_at=now - asked,
        platform_updated_at=now - asked,
    )
