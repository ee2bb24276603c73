"""Follow-up records: what was promised to a buyer, by whom, when to follow up, done or not.
A due one reminds its owner once (``reminders.follow_ups_remind``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.models import Conversation, FollowUp, Role
from inbox.selectors import AnyUser, member_for, shop_account_ids_for
from inbox.selectors.profiles import customer_visible
from inbox.services.profiles.common import audit, customer_locked
from scrm.api import NotFound, ServiceError

MAX_PROMISE = 1000
# A follow-up is for the coming months, not for the next century.
FURTHEST = timedelta(days=3 * 366)


def _bad(message: str, field: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={field: message})


def _owner_ok(owner_id: int, organisation_id: int, shop_account_id: int | None) -> bool:
    """An owner is an active person of the organisation who works on the shop (its agent, or
    a supervisor or admin)."""
    works = Q(member__role__in=[Role.ADMIN, Role.SUPERVISOR])
    if shop_account_id is not None:
        works |= Q(shop_memberships__shop_account_id=shop_account_id)
    return (
        get_user_model()
        .objects.filter(works, id=owner_id, is_active=True, member__organisation_id=organisation_id)
        .exists()
    )


@transaction.atomic
def follow_up_create(
    *,
    actor: AnyUser,
    customer_id: int,
    promise: str,
    due_at: datetime,
    owner_id: int | None = None,
    conversation_id: int | None = None,
) -> FollowUp:
    """Record a promise to a buyer and when to follow up. Keeps: the conversation (when named)
    is the customer's, in a shop the actor works on; its shop is the follow-up's (else the
    buyer's latest conversation the actor may see); the owner (the actor by default) works on
    that shop; audited with ids only."""
    promise = (promise or "").strip()
    if not promise or len(promise) > MAX_PROMISE:
        raise _bad(gettext_noop("Say what was promised (1 to 1000 characters)."), "promise")
    if timezone.is_naive(due_at) or due_at > timezone.now() + FURTHEST:
        raise _bad(gettext_noop("Give a follow-up time within three years."), "due_at")
    customer = customer_locked(actor, customer_id)
    conversations = Conversation.objects.filter(
        Q(customer_id=customer.pk) | Q(customer__merged_into_id=customer.pk),
        shop_account_id__in=shop_account_ids_for(actor),
    )
    if conversation_id is not None:
        conversation = conversations.filter(id=conversation_id).first()
        if conversation is None:
            raise _bad(gettext_noop("That conversation is not this buyer's."), "conversation_id")
    else:
        conversation = conversations.order_by("-last_message_at").first()
    shop_id = conversation.shop_account_id if conversation else None
    owner = owner_id or member_for(actor).user_id
    if not _owner_ok(owner, customer.organisation_id, shop_id):
        raise _bad(gettext_noop("That person does not work on this buyer's shop."), "owner_id")
    follow_up = FollowUp.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        shop_account_id=shop_id,
        conversation=conversation,
        promise=promise,
        owner_id=owner,
        created_by_id=member_for(actor).user_id,
        due_at=due_at,
    )
    audit(
        actor,
        organisation_id=customer.organisation_id,
        action="follow_up.created",
        target=follow_up,
        data={"customer_id": customer.pk, "owner_id": owner},
    )
    return follow_up


def _locked(actor: AnyUser, customer_id: int, follow_up_id: int) -> FollowUp:
    follow_up = (
        FollowUp.objects.select_for_update()
        .filter(
            id=follow_up_id,
            customer_id=customer_id,
            customer__in=customer_visible(actor).values("id"),
        )
        .first()
    )
    if follow_up is None:
        raise NotFound(gettext_noop("Follow-up not found."))
    return follow_up


@transaction.atomic
def follow_up_complete(*, actor: AnyUser, customer_id: int, follow_up_id: int) -> FollowUp:
    """Mark a follow-up done (done already: unchanged, nothing audited)."""
    follow_up = _locked(actor, customer_id, follow_up_id)
    if follow_up.done_at is None:
        follow_up.done_at = timezone.now()
        follow_up.done_by_id = member_for(actor).user_id
        follow_up.save(update_fields=["done_at", "done_by"])
        audit(
            actor,
            organisation_id=follow_up.organisation_id,
            action="follow_up.completed",
            target=follow_up,
            data={"customer_id": customer_id},
        )
    return follow_up


@transaction.atomic
def follow_up_reopen(
    *, actor: AnyUser, customer_id: int, follow_up_id: int, due_at: datetime | None = None
) -> FollowUp:
    """Open a done follow-up again, optionally for a new time (which reminds again when it
    passes; without one, a follow-up already reminded is not reminded twice)."""
    follow_up = _locked(actor, customer_id, follow_up_id)
    if due_at is not None:
        if timezone.is_naive(due_at) or due_at > timezone.now() + FURTHEST:
            raise _bad(gettext_noop("Give a follow-up time within three years."), "due_at")
        follow_up.due_at, follow_up.reminded_at = due_at, None
    follow_up.done_at, follow_up.done_by = None, None
    follow_up.save(update_fields=["due_at", "reminded_at", "done_at", "done_by"])
    audit(
        actor,
        organisation_id=follow_up.organisation_id,
        action="follow_up.reopened",
        target=follow_up,
        data={"customer_id": customer_id},
    )
    return follow_up
