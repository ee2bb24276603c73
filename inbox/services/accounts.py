"""Writes on accounts and access. Each is one transaction with its audit event."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from inbox.models import Member, Role, ShopMembership
from inbox.selectors import AnyUser, member_for, shop_account_get
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import Forbidden, NotFound, ServiceError, locked_or_not_found
from scrm.events import control_publish


def _require_manager(actor: AnyUser) -> Member:
    member = member_for(actor)
    if not member.sees_all_shops:
        raise Forbidden("Only supervisors and admins manage memberships.")
    return member


@transaction.atomic
def membership_create(*, actor: AnyUser, user_id: int, shop_account_id: int) -> ShopMembership:
    """Give a person of the actor's organisation access to one of its shop accounts.

    Keeps: both sides belong to the actor's organisation; one membership per pair (409 else).
    """
    manager = _require_manager(actor)
    shop = shop_account_get(actor, shop_account_id)
    User = get_user_model()
    try:
        user = User.objects.get(id=user_id, member__organisation_id=manager.organisation_id)
    except User.DoesNotExist:
        raise NotFound("User not found.") from None
    try:
        with transaction.atomic():
            membership = ShopMembership.objects.create(user=user, shop_account=shop)
    except IntegrityError:
        raise ServiceError(
            "This person is already a member of that shop account.",
            code="already_member",
            status_code=409,
        ) from None
    audit_record(
        organisation_id=manager.organisation_id,
        actor=actor,
        action="membership.created",
        ip=request_address(),
        target=membership,
        data={"user_id": user.pk, "shop_account_id": shop.pk},
    )
    control_publish(user_id=user.pk, message={"type": "inbox.join", "shop_account_id": shop.pk})
    return membership


@transaction.atomic
def membership_delete(*, actor: AnyUser, membership_id: int) -> None:
    """Take one person's access to one shop account away."""
    manager = _require_manager(actor)
    membership = locked_or_not_found(
        ShopMembership,
        "Membership not found.",
        id=membership_id,
        shop_account__organisation_id=manager.organisation_id,
    )
    audit_record(
        organisation_id=manager.organisation_id,
        actor=actor,
        action="membership.deleted",
        ip=request_address(),
        target=membership,
        data={"user_id": membership.user_id, "shop_account_id": membership.shop_account_id},
    )
    membership.delete()
    if not member_for_user_sees_all(membership.user_id):
        control_publish(
            user_id=membership.user_id,
            message={"type": "inbox.leave", "shop_account_id": membership.shop_account_id},
        )


def member_for_user_sees_all(user_id: int) -> bool:
    return Member.objects.filter(user_id=user_id, role__in=[Role.ADMIN, Role.SUPERVISOR]).exists()


@transaction.atomic
def member_language_set(*, actor: AnyUser, language: str) -> Member:
    """The person's own interface language, kept on their profile (``Member.language``); ""
    follows the organisation's language.

    Keeps: only a language the product offers (400 ``invalid`` otherwise); only one's own
    profile; audited as ``member.language_changed`` (nothing written when it is unchanged).
    """
    offered = [code for code, _ in settings.LANGUAGES]
    if language not in ("", *offered):
        raise ServiceError(
            "Unknown language.", code="invalid", details={"language": language, "offered": offered}
        )
    member = Member.objects.select_for_update().get(pk=member_for(actor).pk)
    if member.language == language:
        return member
    previous = member.language
    member.language = language
    member.save(update_fields=["language"])
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="member.language_changed",
        ip=request_address(),
        target=member,
        data={"from": previous, "to": language},
    )
    # The request's remembered member: what the rest of this request reads.
    member_for(actor).language = language
    return member
