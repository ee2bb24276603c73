"""Who may reveal which customer's data: the reveal permission is per shop
(``ShopMembership.can_reveal``), off for everyone, supervisors and admins included, until an
admin gives it on the person's page.

A customer belongs to no one shop (one per buyer per platform, shared by the organisation's
shops): the shops *concerned* by a customer are those where it has a conversation, an order or
an after-sales case. A person may reveal a customer's data when they may reveal in any of
those shops, an order's recipient when they may reveal in the order's shop.
"""

from __future__ import annotations

from django.db.models import Q

from inbox.models import AfterSalesCase, Conversation, Customer, Order, ShopMembership
from inbox.selectors.accounts import AnyUser, member_for, shop_account_ids_for

SUBJECTS = ("customer", "order")


def reveal_shop_ids(user: AnyUser) -> frozenset[int]:
    """The shops of the user's organisation in which they may reveal (remembered on the user
    object, which lives for one request: every masked value of a page asks)."""
    cached = getattr(user, "_scrm_reveal_shops", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    member = member_for(user)
    ids = frozenset(
        ShopMembership.objects.filter(
            user_id=user.pk,
            can_reveal=True,
            shop_account__organisation_id=member.organisation_id,
        ).values_list("shop_account_id", flat=True)
    )
    setattr(user, "_scrm_reveal_shops", ids)  # noqa: B010 - not a model field
    return ids


def customer_shop_ids(customer: Customer) -> set[int]:
    """The shops concerned by a customer (and by the profiles merged into it)."""
    mine = Q(customer_id=customer.pk) | Q(customer__merged_into_id=customer.pk)
    shops: set[int] = set()
    for model in (Conversation, Order, AfterSalesCase):
        shops.update(model.objects.filter(mine).values_list("shop_account_id", flat=True))
    return shops


def subject_shop_ids(user: AnyUser, subject: str, subject_id: int) -> set[int] | None:
    """The shops a subject (a ``customer`` or an ``order``) concerns that ``user`` may see;
    None when the subject is unknown or outside the user's reach (the caller's 404)."""
    member = member_for(user)
    visible = set(shop_account_ids_for(user))
    if subject == "order":
        shop_id = (
            Order.objects.filter(
                pk=subject_id, shop_account__organisation_id=member.organisation_id
            )
            .values_list("shop_account_id", flat=True)
            .first()
        )
        return {shop_id} if shop_id in visible else None
    if subject == "customer":
        customer = Customer.objects.filter(
            pk=subject_id, organisation_id=member.organisation_id
        ).first()
        if customer is None:
            return None
        shops = customer_shop_ids(customer) & visible
        return shops or None
    return None


def may_reveal(user: AnyUser, subject: str, subject_id: int) -> bool:
    """Whether the user may reveal the subject's data (no query when they may reveal
    nowhere, the common case)."""
    allowed = reveal_shop_ids(user)
    if not allowed:
        return False
    shops = subject_shop_ids(user, subject, subject_id)
    return bool(shops and shops & allowed)


def person_reveal_shop_ids(user: AnyUser, person_user_id: int) -> set[int]:
    """The shops of the user's organisation in which a person may reveal (the person page's
    checkboxes; the caller has checked the user may see the person)."""
    member = member_for(user)
    return set(
        ShopMembership.objects.filter(
            user_id=person_user_id,
            can_reveal=True,
            shop_account__organisation_id=member.organisation_id,
        ).values_list("shop_account_id", flat=True)
    )
