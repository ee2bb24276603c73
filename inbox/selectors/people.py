"""The people of an organisation and its invitations, as its admins see them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from inbox.models import Invitation, Member, Role, ShopAccount, ShopMembership
from inbox.selectors.accounts import AnyUser, member_for
from scrm.api import Forbidden, NotFound

# Expired invitations stay listed this long (so an admin sees why someone could not join).
EXPIRED_SHOWN = timedelta(days=30)


@dataclass(frozen=True)
class Person:
    member: Member
    shops: list[ShopAccount]
    two_factor: bool
    last_seen_at: datetime | None

    @property
    def is_active(self) -> bool:
        return bool(self.member.user.is_active)


def admin_member(user: AnyUser) -> Member:
    """The acting user's membership when they are an admin of their organisation; Forbidden
    otherwise (whatever they asked about, so the answer tells nothing of other ids)."""
    member = member_for(user)
    if member.role != Role.ADMIN:
        raise Forbidden("Only admins may do this.")
    return member


def _people(org_id: int) -> QuerySet[Member]:
    return (
        Member.objects.filter(organisation_id=org_id)
        .select_related("user", "user__presence")
        .annotate(
            has_two_factor=Exists(
                TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)
            )
        )
        .prefetch_related(
            Prefetch(
                "user__shop_memberships",
                queryset=ShopMembership.objects.filter(shop_account__organisation_id=org_id)
                .select_related("shop_account")
                .order_by("shop_account__name", "shop_account_id"),
                to_attr="org_shop_memberships",
            )
        )
    )


def _person(m: Member) -> Person:
    presence = getattr(m.user, "presence", None)
    seen = [t for t in (presence and presence.last_seen_at, m.user.last_login) if t]
    return Person(
        member=m,
        shops=[sm.shop_account for sm in m.user.org_shop_memberships],  # type: ignore[attr-defined]
        two_factor=bool(m.has_two_factor),  # type: ignore[attr-defined]
        last_seen_at=max(seen) if seen else None,
    )


def person_list(user: AnyUser) -> list[Person]:
    """Everyone of the admin's organisation: role, shops, two-factor, last seen (an open inbox
    socket or a sign-in, whichever is later); active people first, then by name.

    Keeps: admins only (Forbidden else); nobody of another organisation, no shop of another
    organisation; three queries whatever the number of people.
    """
    member = admin_member(user)
    people = [_person(m) for m in _people(member.organisation_id)]
    people.sort(key=lambda p: (not p.is_active, p.member.name.lower(), p.member.user_id))
    return people


def person_get(user: AnyUser, user_id: int) -> Person:
    """One person of the admin's organisation, or NotFound."""
    member = admin_member(user)
    found = list(_people(member.organisation_id).filter(user_id=user_id))
    if not found:
        raise NotFound("Person not found.")
    return _person(found[0])


def invitation_list(user: AnyUser) -> list[Invitation]:
    """The admin's organisation's invitations not yet accepted nor revoked: pending ones, and
    expired ones of the last 30 days; newest first, with their shops and inviter."""
    member = admin_member(user)
    now = timezone.now()
    return list(
        Invitation.objects.filter(
            organisation_id=member.organisation_id,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now - EXPIRED_SHOWN,
        )
        .select_related("invited_by__member")
        .prefetch_related(
            Prefetch("shop_accounts", queryset=ShopAccount.objects.order_by("name", "id"))
        )
        .order_by("-created_at", "-id")
    )


def invitation_token_hash(token: str) -> str:
    """What is stored of an invitation's token (SHA-256: the token has 256 random bits, so a
    slow hash adds nothing)."""
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token opens (whatever its state), or None: for the accept page,
    which anyone holding the link may open."""
    return (
        Invitation.objects.select_related("organisation")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )


def two_factor_missing_count(user: AnyUser) -> int:
    """How many active supervisors and admins of the viewer's organisation have no second
    factor yet (the organisation page warns before requiring it)."""
    member = member_for(user)
    return (
        Member.objects.filter(
            organisation_id=member.organisation_id,
            role__in=[Role.ADMIN, Role.SUPERVISOR],
            user__is_active=True,
        )
        .exclude(user__totpdevice__confirmed=True)
        .count()
    )
