"""Who may ask for a buyer's data, and who may erase it.

- Export (everything held, unmasked): admins; supervisors holding the reveal permission
  (``ShopMembership.can_reveal``) on at least one shop the buyer wrote to, ordered from or
  opened a case in — the same permission that lets them reveal one value, for the whole file
  at once, audited the same way. Agents never: they work on conversations, not on requests
  about a person's data.
- Erasure (not undoable): admins only.

A customer of another organisation, or one with nothing in a shop the person may see, is not
found (404); a person who sees the buyer but whose role may not is refused (403).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.translation import gettext_noop

from inbox.models import AfterSalesCase, Conversation, Customer, Member, Order, Role, ShopMembership
from inbox.selectors.accounts import member_for, shop_account_ids_for
from scrm.api import Forbidden, NotFound

AnyUser = AbstractBaseUser | AnonymousUser


def customer_shop_ids(customer_ids: list[int]) -> set[int]:
    """The shops where these customers have a conversation, an order or a case."""
    shops: set[int] = set()
    for model in (Conversation, Order, AfterSalesCase):
        shops.update(
            model.objects.filter(customer_id__in=customer_ids)
            .values_list("shop_account_id", flat=True)
            .distinct()
        )
    return shops


def _visible_customer(actor: AnyUser, customer_id: int) -> tuple[Member, Customer, set[int]]:
    member = member_for(actor)
    customer = Customer.objects.filter(
        pk=customer_id, organisation_id=member.organisation_id
    ).first()
    if customer is None:
        raise NotFound(gettext_noop("Customer not found."))
    shops = customer_shop_ids([customer.pk])
    if member.role != Role.ADMIN and not shops & set(shop_account_ids_for(actor)):
        raise NotFound(gettext_noop("Customer not found."))
    return member, customer, shops


def may_export(actor: AnyUser, customer_id: int) -> Customer:
    """The customer whose data ``actor`` may export, or NotFound / Forbidden."""
    member, customer, shops = _visible_customer(actor, customer_id)
    if member.role == Role.ADMIN:
        return customer
    if member.role == Role.SUPERVISOR and (
        ShopMembership.objects.filter(
            user_id=member.user_id, shop_account_id__in=shops, can_reveal=True
        ).exists()
    ):
        return customer
    raise Forbidden(
        gettext_noop(
            "Exporting a buyer's data takes an admin, or a supervisor who may reveal customer "
            "data in one of the buyer's shops."
        ),
        code="export_forbidden",
    )


def may_erase(actor: AnyUser, customer_id: int) -> Customer:
    """The customer ``actor`` may erase (admins only), or NotFound / Forbidden."""
    member, customer, _ = _visible_customer(actor, customer_id)
    if member.role != Role.ADMIN:
        raise Forbidden(gettext_noop("Only admins erase a buyer's data."), code="erase_forbidden")
    return customer


def may_export_data(actor: AnyUser, customer_id: int) -> bool:
    """Whether ``actor`` may open the buyer's data page (a link shows it only to them)."""
    try:
        may_export(actor, customer_id)
    except (NotFound, Forbidden):
        return False
    return True
