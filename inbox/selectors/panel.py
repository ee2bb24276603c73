"""What the buyer panel beside a conversation shows: the buyer's cases in that shop and their
orders, shaped for the templates (``templates/inbox/_panel_*.html``, ``_case_card.html``).

Reads only what the user may see: the conversation and the case come through the scoped
selectors (``conversation_get``, ``aftersales.case_get``), so another shop's case is a 404.
The buyer may be two customers until they are merged (a chat customer, and one known by the
order-side ``user_id`` alone): both are the same buyer here when they share that ``user_id``.
The recipient of an order is masked (``inbox.masking``); the templates show it through
``{% masked %}`` (``inbox.templatetags.reveal``), which offers people with the reveal
permission in the shop to reveal one value, audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q, QuerySet

from inbox.masking import mask
from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    CaseStage,
    Conversation,
    Customer,
    Message,
    Order,
    OutboxAction,
)
from inbox.payloads_aftersales import DECISION_KIND, evidence_payload
from inbox.selectors.accounts import AnyUser, member_for
from inbox.selectors.aftersales import CASE_ORDERING, _due, with_decision_state

PANEL_STAGES = (CaseStage.NEEDS_DECISION, CaseStage.WAITING, CaseStage.DECIDED)
PANEL_CASES = 10
PANEL_ORDERS = 5
ORDER_CARD_SCAN = 200  # the newest messages whose order cards the panel reads


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def buyer_customer_ids(conversation: Conversation) -> list[int]:
    """The conversation's buyer, and the customer known only by the same order-side id."""
    customer = conversation.customer
    ids = [customer.pk]
    if customer.platform_user_id:
        ids += list(
            Customer.objects.filter(
                organisation_id=customer.organisation_id,
                platform=customer.platform,
                platform_user_id=customer.platform_user_id,
            )
            .exclude(pk=customer.pk)
            .values_list("pk", flat=True)
        )
    return ids


def buyer_cases(
    conversation: Conversation, *, focus: int | None = None
) -> QuerySet[AfterSalesCase]:
    """The buyer's cases in the conversation's shop that are not closed (and the focused one
    whatever its stage), the earliest deadline first. The conversation is one the user may
    see (``conversation_get``), and the cases are its shop's."""
    mine = Q(customer_id__in=buyer_customer_ids(conversation)) | Q(conversation=conversation)
    shown = Q(stage__in=PANEL_STAGES)
    if focus is not None:
        shown |= Q(pk=focus)
    qs = AfterSalesCase.objects.filter(mine, shown, shop_account_id=conversation.shop_account_id)
    qs = with_decision_state(qs.annotate(due_at=_due())).order_by(*CASE_ORDERING)
    return qs.select_related("shop_account").defer("shop_account__credentials")[:PANEL_CASES]


def order_card_ids(conversation: Conversation) -> list[str]:
    """The order ids the conversation's newest order cards (and return cards) name."""
    # The content is encrypted: the newest cards (any type but plain text and media) are read
    # and their order ids taken in Python.
    contents = (
        Message.objects.filter(conversation=conversation)
        .exclude(type__in=("TEXT", "IMAGE", "VIDEO", "EMOTICONS", "STICKER"))
        .only("id", "row_uid", "content", "sent_at")
        .order_by("-sent_at")[:ORDER_CARD_SCAN]
    )
    ids = (m.content.get("order_id") for m in contents if isinstance(m.content, dict))
    return list(dict.fromkeys(str(i) for i in ids if i))


def buyer_orders(conversation: Conversation, order_ids: Iterable[str] = ()) -> list[Order]:
    """The buyer's orders in this shop (and any of ``order_ids``), newest first."""
    qs = Order.objects.filter(
        Q(customer_id__in=buyer_customer_ids(conversation)) | Q(platform_order_id__in=order_ids),
        shop_account_id=conversation.shop_account_id,
    )
    return list(qs.order_by("-platform_created_at", "-id")[:PANEL_ORDERS])


def orders_by_id(shop_account_id: int, order_ids: Iterable[str]) -> dict[str, Order]:
    """The shop's stored orders of these ids (one query)."""
    ids = [i for i in dict.fromkeys(order_ids) if i]
    if not ids:
        return {}
    return {
        o.platform_order_id: o
        for o in Order.objects.filter(shop_account_id=shop_account_id, platform_order_id__in=ids)
    }


def decisions_by_case(case_ids: Iterable[int]) -> dict[int, list[tuple[Any, Any]]]:
    """``aftersales.case_decisions`` for many cases at once (two queries): case id ->
    [(decision, its outbox action or None)], newest first."""
    decisions = list(
        AfterSalesDecision.objects.filter(case_id__in=list(case_ids))
        .select_related("author__member")
        .order_by("-id")
    )
    actions = {
        a.subject_id: a
        for a in OutboxAction.objects.filter(
            kind=DECISION_KIND, subject_id__in=[d.id for d in decisions]
        )
    }
    found: dict[int, list[tuple[Any, Any]]] = {}
    for d in decisions:
        found.setdefault(d.case_id, []).append((d, actions.get(d.id)))
    return found


# --- shaping ---------------------------------------------------------------------------------
def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def grouped_lines(lines: Any, amount_key: str) -> list[dict[str, Any]]:
    """Lines of the same SKU as one item with its quantity (the platform lists one line per
    unit) and the sum of their amounts."""
    items: dict[str, dict[str, Any]] = {}
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        key = str(line.get("sku_id") or line.get("line_item_id") or len(items))
        item = items.setdefault(
            key,
            {
                "sku_id": line.get("sku_id", ""),
                "seller_sku": line.get("seller_sku", ""),
                "product_name": line.get("product_name", ""),
                "sku_name": line.get("sku_name", ""),
                "currency": line.get("currency", ""),
                "quantity": 0,
                "amount": Decimal(0),
            },
        )
        item["quantity"] += 1
        item["amount"] += _decimal(line.get(amount_key))
    return list(items.values())


@dataclass
class OrderView:
    order: Order
    items: list[dict[str, Any]]
    recipient_name: str
    recipient_phone: str
    recipient_place: str
    recipient_email: str


def order_view(order: Order) -> OrderView:
    """An order as shown before any reveal: the recipient masked."""
    return OrderView(
        order=order,
        items=grouped_lines(order.lines, "sale_price"),
        recipient_name=mask("name", order.recipient_name),
        recipient_phone=mask("phone", order.recipient_phone),
        recipient_place=mask("address", order.recipient_address),
        recipient_email=mask("email", order.recipient_email),
    )


@dataclass
class CaseView:
    case: AfterSalesCase
    items: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    history: list[tuple[str, datetime]]
    deadline_shop: datetime | None
    deadline_viewer: datetime | None
    viewer_zone: str
    order: OrderView | None = None
    options: list[Any] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)
    reasons_error: bool = False
    decisions: list[tuple[Any, Any]] = field(default_factory=list)


def case_view(case: AfterSalesCase, *, viewer_zone: str, order: Order | None = None) -> CaseView:
    """A case shaped for its card: items grouped, evidence checked against the image policy,
    history with times, the deadline in the shop's and the viewer's time zones."""
    history = []
    for entry in case.history if isinstance(case.history, list) else []:
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], int):
            history.append((str(entry[0]), datetime.fromtimestamp(entry[1], tz=UTC)))
    deadline = case.seller_deadline
    return CaseView(
        case=case,
        items=grouped_lines(case.lines, "refund_total"),
        evidence=evidence_payload(case.evidence),
        history=history[::-1],
        deadline_shop=deadline.astimezone(zone(case.shop_account.time_zone)) if deadline else None,
        deadline_viewer=deadline.astimezone(zone(viewer_zone)) if deadline else None,
        viewer_zone=viewer_zone,
        order=order_view(order) if order is not None else None,
    )


def member_zone(user: AnyUser) -> str:
    """The viewer's own time zone's name (their profile's; UTC when unset or unknown)."""
    return str(zone(member_for(user).time_zone or "UTC"))
