"""People of an organisation, managed by its admins: roles, shop access, and deactivation
(invitations: ``inbox.services.invitations``). Each write is one transaction with its audit
event; every change of what a person may see reaches their open sockets at commit
(``inbox.services.access``).

The rules kept here, beyond those of ``inbox.services.access``:
- only an active admin of the organisation acts, checked again from the database under a lock
  of the organisation's row (people changes of one organisation run one at a time, so two
  admins demoting each other at the same moment cannot both win);
- nobody changes their own role or deactivates themselves. With the rule above, an
  organisation never loses its last active admin: whoever acts is one, and stays one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.models import Member, Organisation, Role, ShopAccount, ShopMembership
from inbox.selectors import AnyUser
from inbox.selectors.people import admin_member
from inbox.services.access import access_changed_notify, member_role_change, user_deactivate
from inbox.services.accounts import membership_create, membership_delete
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import Forbidden, NotFound, ServiceError


# --- who may act ------------------------------------------------------------------------------
def lock_organisation(actor: AnyUser) -> Member:
    """The actor's membership, after locking their organisation's row (people changes of one
    organisation run one at a time) and checking again, from the database, that the actor is
    still an active admin."""
    member = admin_member(actor)
    Organisation.objects.select_for_update().filter(pk=member.organisation_id).first()
    still = Member.objects.filter(
        user_id=member.user_id,
        organisation_id=member.organisation_id,
        role=Role.ADMIN,
        user__is_active=True,
    ).exists()
    if not still:
        raise Forbidden("Only admins manage people.")
    return member


def person_for_update(manager: Member, user_id: int) -> Member:
    try:
        return Member.objects.select_related("user").get(
            user_id=user_id, organisation_id=manager.organisation_id
        )
    except Member.DoesNotExist:
        raise NotFound("Person not found.") from None


# --- roles, shop access, deactivation ---------------------------------------------------------
@transaction.atomic
def person_role_change(*, actor: AnyUser, user_id: int, role: str) -> Member:
    """Give a person of the admin's organisation another role.

    Keeps: admins only; never one's own role (so never the last admin's); audited as
    ``member.role_changed`` and re-scoped on open sockets at commit (``member_role_change``).
    """
    if role not in Role.values:
        raise ServiceError(gettext_noop("Unknown role."), code="invalid_role")
    manager = lock_organisation(actor)
    target = person_for_update(manager, user_id)
    if target.user_id == actor.pk:
        raise ServiceError(
            gettext_noop("You cannot change your own role."), code="own_role", status_code=409
        )
    return member_role_change(actor=actor, user_id=user_id, role=role)


@transaction.atomic
def person_shops_set(*, actor: AnyUser, user_id: int, shop_account_ids: Iterable[int]) -> Member:
    """Make a person's shop access exactly ``shop_account_ids`` (shops of the organisation).

    Keeps: admins only; every shop named is one of the organisation's (404 otherwise, nothing
    written); each membership added or removed is audited (``membership.created`` /
    ``membership.deleted``) and joins or leaves the shop on the person's open sockets at
    commit (``inbox.services.accounts``). Supervisors and admins see every shop whatever
    this holds; it applies when they are agents.
    """
    manager = lock_organisation(actor)
    target = person_for_update(manager, user_id)
    wanted = {int(i) for i in shop_account_ids}
    known = set(
        ShopAccount.objects.filter(
            organisation_id=manager.organisation_id, id__in=wanted
        ).values_list("id", flat=True)
    )
    if wanted - known:
        raise NotFound("Shop account not found.")
    current = dict(
        ShopMembership.objects.filter(
            user_id=target.user_id, shop_account__organisation_id=manager.organisation_id
        ).values_list("shop_account_id", "id")
    )
    for shop_id in sorted(wanted - set(current)):
        membership_create(actor=actor, user_id=target.user_id, shop_account_id=shop_id)
    for shop_id in sorted(set(current) - wanted):
        membership_delete(actor=actor, membership_id=current[shop_id])
    return target


@transaction.atomic
def person_deactivate(*, actor: AnyUser, user_id: int) -> Member:
    """Stop a person using the product, at once: their account is inactive, their open sockets
    close at commit, their sessions end and their API tokens are revoked (a reactivated person
    signs in again). History (their replies, notes, audit events) stays.

    Keeps: admins only; never oneself (so never the last admin); audited
    (``user.deactivated``, ``sessions.ended_everywhere``).
    """
    manager = lock_organisation(actor)
    target = person_for_update(manager, user_id)
    if target.user_id == actor.pk:
        raise ServiceError(
            gettext_noop("You cannot deactivate yourself."),
            code="cannot_deactivate_self",
            status_code=409,
        )
    if not target.user.is_active:
        return target
    user_deactivate(actor=actor, user_id=user_id)
    target.user.refresh_from_db(fields=["is_active"])
    return target


@transaction.atomic
def person_reactivate(*, actor: AnyUser, user_id: int) -> Member:
    """Let a deactivated person of the organisation sign in again, with the role and shop
    access they had. Keeps: admins only; audited as ``user.reactivated``; already active
    writes nothing."""
    manager = lock_organisation(actor)
    target = person_for_update(manager, user_id)
    changed = (
        get_user_model().objects.filter(pk=target.user_id, is_active=False).update(is_active=True)
    )
    if changed:
        audit_record(
            organisation_id=manager.organisation_id,
            actor=actor,
            action="user.reactivated",
            ip=request_address(),
            target=target,
            data={"user_id": target.user_id},
        )
        access_changed_notify(user_ids=[target.user_id])
        target.user.refresh_from_db(fields=["is_active"])
    return target
