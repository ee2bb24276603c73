"""Customer profiles as one person may see them (docs/customers.md).

The scope rule: a person sees a customer of their organisation when it (or a profile merged
into it) has a conversation, an order or an after-sales case in a shop they work on
(``shop_account_ids_for``); outside it is a 404. What the profile shows of other shops is
only what the viewer may see too: the timeline and the figures count the viewer's shops only.

Searching never decrypts the table: blind tokens find the candidates
(``inbox.selectors.search.customer_ids_matching``), an order id is matched exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils.translation import gettext_noop

from inbox.masking import mask
from inbox.models import (
    AfterSalesCase,
    Conversation,
    Customer,
    CustomerField,
    CustomerMerge,
    CustomerNote,
    FollowUp,
    Order,
)
from inbox.selectors.accounts import AnyUser, member_for, shop_account_ids_for
from inbox.selectors.search import customer_ids_matching
from monitoring.violation_selectors import conversation_risk_tags
from scrm.api import NotFound
from scrm.blind import org_index_for

REFUND_KINDS = ("refund", "return_and_refund")
TIMELINE_PAGE = 20
# The conversations whose risk tags a profile reads (one query each): the newest.
RISK_CONVERSATIONS = 20


def _family(customer_id: Any) -> Q:
    """A customer's own rows and those of profiles merged into it."""
    return Q(customer_id=customer_id) | Q(customer__merged_into_id=customer_id)


def customer_visible(user: AnyUser) -> QuerySet[Customer]:
    """Every customer of the user's organisation the user may see (see the module's rule; a
    supervisor or admin works on every shop, so sees every customer of the organisation),
    merged-away and erased ones included (callers filter them)."""
    member = member_for(user)
    mine = Customer.objects.filter(organisation_id=member.organisation_id)
    if member.sees_all_shops:  # every shop: every customer (merged-away ones too)
        return mine
    shops = shop_account_ids_for(user)

    def has(model: Any) -> Exists:
        return Exists(
            model.objects.filter(shop_account_id__in=shops).filter(_family(OuterRef("pk")))
        )

    return mine.filter(has(Conversation) | has(Order) | has(AfterSalesCase))


def profile_search(user: AnyUser, q: str = "") -> QuerySet[Customer]:
    """The user's customers (newest first), or those matching ``q``: a name as typed (the
    start of a word, 2 characters or more), a phone with or without its country code, an
    e-mail or its part before the @, or an order id exactly. Merged-away and erased profiles
    are left out. Keeps: no table is decrypted (tokens, then candidates checked)."""
    member = member_for(user)
    qs = customer_visible(user).filter(merged_into__isnull=True, erased_at__isnull=True)
    term = q.strip()[:100]
    if term:
        ids = set(customer_ids_matching(org_index_for(member.organisation_id), term))
        if term.isalnum() and term.isascii():  # an order id: its buyer (or whom they merged into)
            rows = Order.objects.filter(
                organisation_id=member.organisation_id,
                shop_account_id__in=shop_account_ids_for(user),
                platform_order_id=term,
                customer_id__isnull=False,
            ).values_list("customer_id", "customer__merged_into_id")[:50]
            ids |= {merged_into or customer for customer, merged_into in rows}
        qs = qs.filter(id__in=ids)
    return qs.prefetch_related("tags").order_by("-id")


@dataclass
class Figures:
    orders: int
    refunds: int
    refund_rate: float | None  # refunds / orders; None without orders
    last_contact: datetime | None


@dataclass
class Profile:
    customer: Customer
    phone: str  # masked
    email: str
    real_name: str
    addresses: list[str]
    figures: Figures
    risk_tags: list[tuple[str, str]]
    custom_fields: list[tuple[CustomerField, Any]]
    notes: list[CustomerNote]
    follow_ups: list[FollowUp]
    tags: list[str]
    merges: list[CustomerMerge] = field(default_factory=list)  # merged into this, not undone
    # The addresses as stored, for the reveal tag only (it masks them): never output as such.
    stored_addresses: list[str] = field(default_factory=list)


def profile_customer(user: AnyUser, customer_id: int) -> Customer:
    """The customer if the user may see it (merged-away and erased ones too); NotFound."""
    customer = customer_visible(user).filter(id=customer_id).first()
    if customer is None:
        raise NotFound(gettext_noop("Customer not found."))
    return customer


def profile_get(user: AnyUser, customer_id: int) -> Profile:
    """A customer's profile as the user may see it: masked phone, e-mail, real name and
    addresses (from orders of the viewer's shops); figures over the viewer's shops; risk tags
    of the newest conversations; custom fields (active definitions); notes; follow-ups."""
    customer = profile_customer(user, customer_id)
    shops = shop_account_ids_for(user)
    orders = Order.objects.filter(_family(customer.pk), shop_account_id__in=shops)
    # Model rows, not values_list: an encrypted column's values come back sealed.
    newest = orders.order_by("-platform_created_at").only("id", "row_uid", "recipient_address")
    stored = [o.recipient_address for o in newest[:20] if o.recipient_address]
    addresses = [mask("address", a) for a in stored]
    fields = list(CustomerField.objects.filter(organisation_id=customer.organisation_id))
    values = customer.custom_fields or {}
    return Profile(
        customer=customer,
        phone=mask("phone", customer.phone),
        email=mask("email", customer.email),
        real_name=mask("name", customer.real_name),
        addresses=list(dict.fromkeys(a for a in addresses if a)),
        stored_addresses=stored,
        figures=_figures(customer, shops, orders),
        risk_tags=_risk_tags(customer, shops),
        custom_fields=[(f, values.get(f.key)) for f in fields if f.is_active or f.key in values],
        notes=list(customer.profile_notes.select_related("author__member")),
        follow_ups=list(
            FollowUp.objects.filter(customer=customer)
            .select_related("owner__member", "shop_account")
            .order_by("done_at", "due_at", "id")
        ),
        tags=sorted(customer.tags.values_list("name", flat=True)),
        merges=list(
            CustomerMerge.objects.filter(survivor=customer, undone_at__isnull=True).order_by(
                "-merged_at"
            )
        ),
    )


def _figures(customer: Customer, shops: list[int], orders: QuerySet[Order]) -> Figures:
    n_orders = orders.count()
    refunds = AfterSalesCase.objects.filter(
        _family(customer.pk), shop_account_id__in=shops, kind__in=REFUND_KINDS
    ).count()
    last = Conversation.objects.filter(_family(customer.pk), shop_account_id__in=shops).aggregate(
        at=Max("last_buyer_message_at")
    )["at"]
    return Figures(
        orders=n_orders,
        refunds=refunds,
        refund_rate=round(refunds / n_orders, 3) if n_orders else None,
        last_contact=last,
    )


def _risk_tags(customer: Customer, shops: list[int]) -> list[tuple[str, str]]:
    """The monitor's risk tags over the buyer's newest conversations (through monitoring's
    selector), each once."""
    ids = Conversation.objects.filter(_family(customer.pk), shop_account_id__in=shops).order_by(
        "-last_message_at"
    )[:RISK_CONVERSATIONS]
    found: dict[str, str] = {}
    for conversation_id in ids.values_list("id", flat=True):
        for tag, label in conversation_risk_tags(conversation_id):
            found.setdefault(tag, label)
    return list(found.items())


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "conversation" | "order" | "case"
    id: int
    at: datetime
    shop_account_id: int
    shop_name: str
    status: str
    detail: str  # ids and enumerated values only (an order id, a case kind)


def profile_timeline(
    user: AnyUser, customer_id: int, *, page: int = 1, per_page: int = TIMELINE_PAGE
) -> tuple[list[TimelineEntry], bool]:
    """The buyer's conversations, orders and after-sales cases in the viewer's shops, newest
    first: one page and whether there is another. Reads ``page * per_page + 1`` rows of each
    kind at most (a buyer's history is short)."""
    customer = profile_customer(user, customer_id)
    shops = shop_account_ids_for(user)
    want = page * per_page + 1
    rows: list[TimelineEntry] = []
    for c in (
        Conversation.objects.filter(_family(customer.pk), shop_account_id__in=shops)
        .select_related("shop_account")
        .only("id", "last_message_at", "status", "platform_conversation_id", "shop_account__name")
        .order_by("-last_message_at", "-id")[:want]
    ):
        rows.append(
            TimelineEntry(
                "conversation",
                c.id,
                c.last_message_at,
                c.shop_account_id,
                c.shop_account.name,
                c.status,
                c.platform_conversation_id,
            )
        )
    for o in (
        Order.objects.filter(_family(customer.pk), shop_account_id__in=shops)
        .select_related("shop_account")
        .only("id", "platform_created_at", "status", "platform_order_id", "shop_account__name")
        .order_by("-platform_created_at", "-id")[:want]
    ):
        rows.append(
            TimelineEntry(
                "order",
                o.id,
                o.platform_created_at,
                o.shop_account_id,
                o.shop_account.name,
                o.status,
                o.platform_order_id,
            )
        )
    for k in (
        AfterSalesCase.objects.filter(_family(customer.pk), shop_account_id__in=shops)
        .select_related("shop_account")
        .only("id", "platform_created_at", "stage", "kind", "shop_account__name")
        .order_by("-platform_created_at", "-id")[:want]
    ):
        rows.append(
            TimelineEntry(
                "case",
                k.id,
                k.platform_created_at,
                k.shop_account_id,
                k.shop_account.name,
                k.stage,
                k.kind,
            )
        )
    rows.sort(key=lambda e: (e.at, e.kind, e.id), reverse=True)
    start = (page - 1) * per_page
    return rows[start : start + per_page], len(rows) > start + per_page


def customer_field_list(user: AnyUser, *, active_only: bool = False) -> QuerySet[CustomerField]:
    """The organisation's custom field definitions (anyone of it may read them)."""
    member = member_for(user)
    qs = CustomerField.objects.filter(organisation_id=member.organisation_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("position", "id")


def merge_get(user: AnyUser, merge_id: int) -> CustomerMerge:
    """A merge whose survivor the user may see; NotFound."""
    merge = CustomerMerge.objects.filter(
        id=merge_id, survivor__in=customer_visible(user).values("id")
    ).first()
    if merge is None:
        raise NotFound(gettext_noop("Merge not found."))
    return merge


def follow_ups_due_for(user: AnyUser, *, limit: int = 20) -> list[FollowUp]:
    """The user's own open follow-ups, soonest due first, of customers they may still see."""
    member = member_for(user)
    return list(
        FollowUp.objects.filter(
            owner_id=member.user_id,
            done_at__isnull=True,
            customer__in=customer_visible(user).values("id"),
        )
        .select_related("shop_account")
        .order_by("due_at", "id")[:limit]
    )
