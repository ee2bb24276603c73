"""Access that ends at once: when a person's access changes, their open inbox sockets re-check it.

Every change of who may see what (deactivation, a role change, a membership change, a password
change, "log out everywhere", a session revoked) calls :func:`access_changed_notify`. After the
transaction commits, it sends a control message to each user's group; every open socket of that
user then re-checks, at once, that its user is still active, still a member, that its session
still exists with the same password hash, and which shops it may see. A socket that may no
longer see anything is closed (close code 4403, or 4401 when the session is gone); one whose
shops changed leaves and joins shop groups.

Changes made outside the app (SQL, a shell) are caught by the same re-check, which every
socket also runs on a timer (``SCRM_WS_RECHECK_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from inbox.models import Member, Role
from inbox.selectors import AnyUser, member_for
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import Forbidden, NotFound, ServiceError, locked_or_not_found
from scrm.events import control_publish

ACCESS_CHANGED = "inbox.access_changed"


def access_changed_notify(*, user_ids: Iterable[int]) -> None:
    """Make each user's open sockets re-check their access as soon as the change commits.

    Safe inside or outside a transaction: the control message leaves on commit (at once when no
    transaction is open), so a socket never re-checks before the change is visible. A lost
    message (Redis down) is caught by the sockets' periodic re-check.
    """
    for user_id in sorted({int(u) for u in user_ids}):
        control_publish(user_id=user_id, message={"type": ACCESS_CHANGED})


def _person(*, actor: AnyUser, user_id: int, as_operator: bool) -> Member | None:
    """The person's membership, locked. In the app the actor must be an admin of the person's
    organisation (404 for anyone outside it); an operator (Django admin) may act on anyone."""
    if as_operator:
        return Member.objects.select_for_update().filter(user_id=user_id).first()
    manager = member_for(actor)
    if manager.role != Role.ADMIN:
        raise Forbidden("Only admins change people's access.")
    return locked_or_not_found(
        Member, "Person not found.", user_id=user_id, organisation_id=manager.organisation_id
    )


@transaction.atomic
def user_deactivate(*, actor: AnyUser, user_id: int, as_operator: bool = False) -> None:
    """Stop a person using the product: ``is_active`` off, their open sockets closed at commit.

    Keeps: in the app only an admin of the person's organisation may, and never on themselves
    (``as_operator`` is the Django admin, which checks its own permissions); audited as
    ``user.deactivated`` in the person's organisation; their tokens and sessions end with it
    (``sessions.ended_everywhere``); already inactive writes nothing, but the sockets are still
    told (a repeat is how an operator forces the check).
    """
    member = _person(actor=actor, user_id=user_id, as_operator=as_operator)
    if not as_operator and actor.pk == user_id:
        raise ServiceError(
            "You cannot deactivate yourself.", code="cannot_deactivate_self", status_code=409
        )
    changed = get_user_model().objects.filter(pk=user_id, is_active=True).update(is_active=False)
    if changed and member is not None:
        audit_record(
            organisation_id=member.organisation_id,
            actor=actor,
            action="user.deactivated",
            ip=request_address(),
            target=member,
            data={"user_id": user_id},
        )
    if changed:
        # Whichever path deactivates (the people page, Django admin), sessions and tokens end
        # with it, so a reactivation never brings back a credential issued before.
        from inbox.services.tokens import tokens_revoke_all  # tokens imports this module

        tokens_revoke_all(user=get_user_model().objects.get(pk=user_id), actor=actor)
    access_changed_notify(user_ids=[user_id])


@transaction.atomic
def member_role_change(
    *, actor: AnyUser, user_id: int, role: str, as_operator: bool = False
) -> Member:
    """Give a person another role in their organisation; their open sockets re-scope at commit
    (a supervisor made an agent leaves every shop they are not a member of, at once).

    Keeps: in the app only an admin of the organisation may, never on their own role (so the
    acting admin always remains one); audited as ``member.role_changed`` (from, to).
    """
    if role not in Role.values:
        raise ServiceError("Unknown role.", code="invalid_role", details={"role": role})
    member = _person(actor=actor, user_id=user_id, as_operator=as_operator)
    if member is None:
        raise NotFound("Person not found.")
    if not as_operator and actor.pk == user_id:
        raise ServiceError("You cannot change your own role.", code="own_role", status_code=409)
    previous = member.role
    if previous == role:
        return member
    member.role = role
    member.save(update_fields=["role"])
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="member.role_changed",
        ip=request_address(),
        target=member,
        data={"user_id": user_id, "from": previous, "to": role},
    )
    access_changed_notify(user_ids=[user_id])
    return member
