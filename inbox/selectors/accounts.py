"""Reads scoped to the acting user: an agent sees only the shop accounts it is a member of."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from inbox.models import Member, ShopAccount, ShopMembership
from scrm.api import Forbidden, NotFound

AnyUser = AbstractBaseUser | AnonymousUser


class MemberIds(Protocol):
    """A member as far as the access rule needs it (a ``Member``, or another app's copy)."""

    @property
    def user_id(self) -> int: ...

    @property
    def organisation_id(self) -> int: ...


def member_for(user: AnyUser) -> Member:
    """The acting user's organisation membership; a user without one may see nothing."""
    if not user.is_authenticated:
        raise Forbidden("Authentication required.")
    # Remembered on the user object, which lives for one request (or one task): every selector
    # and service of a request asks for it.
    cached = getattr(user, "_scrm_member", None)
    if cached is not None:
        return cached
    try:
        member = Member.objects.select_related("organisation").get(user_id=user.pk)
    except Member.DoesNotExist:
        raise Forbidden("You are not a member of any organisation.") from None
    setattr(user, "_scrm_member", member)  # noqa: B010 - not a model field
    # And as ``user.member`` (the relation's cache, nothing saved): templates showing the
    # person's name (``user.member.name``) then cost no second query.
    user.member = member  # type: ignore[attr-defined]
    return member


def language_for(user: AnyUser) -> str | None:
    """The interface language of a signed-in person: their own (``Member.language``), else
    their organisation's (``Organisation.language``); None for nobody signed in and for a user
    of no organisation (the browser's choice applies then). No query beyond ``member_for``."""
    if not user.is_authenticated:
        return None
    try:
        member = member_for(user)
    except Forbidden:
        return None
    offered = {code for code, _ in settings.LANGUAGES}
    for language in (member.language, member.organisation.language):
        if language in offered:
            return language
    return None


def shop_account_list(user: AnyUser) -> QuerySet[ShopAccount]:
    """Shop accounts visible to the user: all of the organisation for supervisors and admins,
    only member shops for agents."""
    return shops_of_member(member_for(user))


def shops_of_member(
    member: MemberIds, *, sees_all_shops: bool | None = None
) -> QuerySet[ShopAccount]:
    """``shop_account_list`` for a member given by its ids (and its role's reach:
    ``sees_all_shops``, the member's own when not given)."""
    if sees_all_shops is None:
        sees_all_shops = bool(getattr(member, "sees_all_shops", False))
    qs = ShopAccount.objects.filter(organisation_id=member.organisation_id)
    if not sees_all_shops:
        qs = qs.filter(memberships__user_id=member.user_id)
    return qs.order_by("name", "id")


def shop_account_ids_for(user: AnyUser) -> list[int]:
    """Ids of the shop accounts the user may work on (used to scope every inbox query)."""
    return list(shop_account_list(user).values_list("id", flat=True))


def member_shop_ids_sql(member: MemberIds) -> tuple[str, list[object]]:
    """``shop_account_list``'s rule for an agent (member shops of their own organisation) as a
    plain SQL subquery and its parameters, for hot paths that must not compile ORM lookups on
    every keystroke (the quick-reply picker). Kept beside the ORM form; a test holds the two
    to the same answer."""
    ms, shop = ShopMembership._meta, ShopAccount._meta
    ms_shop, ms_user = ms.get_field("shop_account").column, ms.get_field("user").column
    shop_org = shop.get_field("organisation").column
    sql = (  # names from the models' metadata; values are parameters
        f'SELECT m."{ms_shop}" FROM "{ms.db_table}" m '  # noqa: S608
        f'INNER JOIN "{shop.db_table}" s ON s."{shop.pk.column}" = m."{ms_shop}" '
        f'WHERE m."{ms_user}" = %s AND s."{shop_org}" = %s'
    )
    return sql, [member.user_id, member.organisation_id]


def shop_account_get(user: AnyUser, shop_account_id: int) -> ShopAccount:
    """One visible shop account, or NotFound (never a hint that another exists)."""
    try:
        return shop_account_list(user).get(id=shop_account_id)
    except ShopAccount.DoesNotExist:
        raise NotFound("Shop account not found.") from None


def membership_list(user: AnyUser) -> QuerySet[ShopMembership]:
    """Shop memberships of the user's organisation; supervisors and admins only."""
    member = member_for(user)
    if not member.sees_all_shops:
        raise Forbidden("Only supervisors and admins manage memberships.")
    return (
        ShopMembership.objects.filter(shop_account__organisation_id=member.organisation_id)
        .select_related("user", "shop_account")
        .order_by("-id")
    )


def shop_connected(shop: ShopAccount) -> bool:
    """Whether the shop account holds what calling its platform takes (no I/O): the one rule
    that ingestion's platform connection, the outbox and the shop accounts page go by. A shop
    account made by hand and never connected has none; whether the platform still accepts the
    tokens shows on the first call (``AuthExpired``)."""
    return bool((shop.credentials or {}).get("app_key"))
