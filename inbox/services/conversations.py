"""Conversation work: assign, status, priority, tags, notes, read, and the bulk forms.

Status changes go through ``conversation_state.conversation_transition`` (the one writer of a
conversation's status and wait, which audits them); everything here publishes the queue row
once per change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from inbox.events import CONVERSATION_UPDATED, NOTE_CREATED
from inbox.models import Conversation, ConversationStatus, Note, Role, Tag
from inbox.payloads import conversation_payload, note_payload
from inbox.selectors import AnyUser, member_for, shop_account_ids_for
from inbox.services.conversation_state import (
    Trigger,
    conversation_transition,
    status_request_check,
)
from inbox.services.events import conversation_event_publish
from inbox.services.outbox_kinds import mark_read_enqueue
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import NotFound, ServiceError

MAX_BULK = 200


def _locked(actor: AnyUser, conversation_id: int) -> Conversation:
    """The conversation, row-locked, if the actor may work on it (404 otherwise)."""
    try:
        return (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("shop_account", "customer", "assignee")
            .defer("shop_account__credentials")
            .get(id=conversation_id, shop_account_id__in=shop_account_ids_for(actor))
        )
    except Conversation.DoesNotExist:
        raise NotFound("Conversation not found.") from None


def _changed(actor: AnyUser | None, conversation: Conversation, action: str, data: dict) -> None:
    audit_record(
        organisation_id=conversation.organisation_id,
        actor=actor,
        action=action,
        shop_account_id=conversation.shop_account_id,
        ip=request_address(),
        target=conversation,
        data=data,
    )
    _publish_row(conversation)


def _publish_row(conversation: Conversation) -> None:
    conversation_event_publish(
        conversation, CONVERSATION_UPDATED, conversation_payload(conversation)
    )


def _check_assignee(conversation: Conversation, assignee_id: int) -> None:
    """An assignee must work on the conversation's shop (member, or supervisor/admin)."""
    User = get_user_model()
    ok = User.objects.filter(
        Q(shop_memberships__shop_account_id=conversation.shop_account_id)
        | Q(member__role__in=[Role.ADMIN, Role.SUPERVISOR]),
        id=assignee_id,
        is_active=True,
        member__organisation_id=conversation.organisation_id,
    ).exists()
    if not ok:
        raise ServiceError(
            "That person does not work on this shop account.",
            code="invalid_assignee",
            details={"assignee_id": assignee_id},
        )


@transaction.atomic
def conversation_assign(
    *, actor: AnyUser, conversation_id: int, assignee_id: int | None
) -> Conversation:
    """Assign to a person of the shop (or unassign with None)."""
    conversation = _locked(actor, conversation_id)
    if assignee_id is not None:
        _check_assignee(conversation, assignee_id)
    previous = conversation.assignee_id
    conversation.assignee_id = assignee_id
    conversation.save(update_fields=["assignee", "updated_at"])
    conversation.refresh_from_db(fields=["assignee"])
    _changed(
        actor,
        conversation,
        "conversation.assigned",
        {"from": previous, "to": assignee_id},
    )
    return conversation


@transaction.atomic
def conversation_set_status(
    *,
    actor: AnyUser,
    conversation_id: int,
    status: str,
    snoozed_until: datetime | None = None,
    issue_type: str | None = None,
    sku: str | None = None,
) -> Conversation:
    """Open, pend, snooze (until a time) or resolve a conversation.

    Keeps: a bad status or a snooze without a time is a 400 before anything is read; the
    move is the state service's (audited as ``conversation.status_changed``); a resolve
    records the conversation's problem (``issue_type``/``sku``, else the suggestion) in the
    problem log, whose refusal (an issue type required) rolls the resolve back."""
    from monitoring.problems.services import issue_choice_check, problem_record_at_resolve

    status_request_check(status, snoozed_until)
    issue_choice_check(issue_type, sku)
    conversation = _locked(actor, conversation_id)
    conversation_transition(
        conversation=conversation,
        trigger=Trigger.AGENT,
        actor=actor,
        status=status,
        snoozed_until=snoozed_until,
    )
    if status == ConversationStatus.RESOLVED:
        problem_record_at_resolve(
            actor=actor, conversation_id=conversation.id, issue_type=issue_type, sku=sku
        )
    _publish_row(conversation)
    return conversation


@transaction.atomic
def conversation_set_priority(
    *, actor: AnyUser, conversation_id: int, priority: int
) -> Conversation:
    conversation = _locked(actor, conversation_id)
    previous = conversation.priority
    conversation.priority = priority
    conversation.save(update_fields=["priority", "updated_at"])
    _changed(
        actor, conversation, "conversation.priority_changed", {"from": previous, "to": priority}
    )
    return conversation


@transaction.atomic
def conversation_tag(
    *, actor: AnyUser, conversation_id: int, add: list[str], remove: list[str]
) -> Conversation:
    """Add and remove tags (created in the organisation on first use)."""
    conversation = _locked(actor, conversation_id)
    for name in {n.strip() for n in add if n.strip()}:
        tag, _ = Tag.objects.get_or_create(
            organisation_id=conversation.organisation_id, name=name[:50]
        )
        conversation.tags.add(tag)
    if remove:
        conversation.tags.remove(
            *Tag.objects.filter(organisation_id=conversation.organisation_id, name__in=remove)
        )
    _changed(actor, conversation, "conversation.tagged", {"added": add, "removed": remove})
    return conversation


@transaction.atomic
def note_add(*, actor: AnyUser, conversation_id: int, text: str) -> Note:
    """An internal note: visible to the team, never sent to the buyer."""
    text = text.strip()
    if not text:
        raise ServiceError("A note needs text.", code="invalid", details={"text": "empty"})
    if len(text) > 5000:
        raise ServiceError("A note is at most 5,000 characters.", code="invalid")
    conversation = _locked(actor, conversation_id)
    note = Note.objects.create(conversation=conversation, author_id=actor.pk, text=text)
    audit_record(
        organisation_id=conversation.organisation_id,
        actor=actor,
        action="note.added",
        shop_account_id=conversation.shop_account_id,
        ip=request_address(),
        target=note,
        data={"conversation_id": conversation.id},
    )
    conversation_event_publish(conversation, NOTE_CREATED, note_payload(note))
    return note


@transaction.atomic
def conversation_mark_read(*, actor: AnyUser, conversation_id: int) -> Conversation:
    """Mark the buyer's messages read here at once, and on the platform through the outbox
    (a ``mark_read`` action: retried while the platform fails, never holding the request).

    A shop never connected to its platform is a 409 ``shop_not_authorised`` (nothing changed)."""
    conversation = _locked(actor, conversation_id)
    mark_read_enqueue(conversation=conversation)
    conversation.unread_count = 0
    conversation.save(update_fields=["unread_count", "updated_at"])
    _changed(actor, conversation, "conversation.read", {})
    return conversation


@transaction.atomic
def conversation_update(*, actor: AnyUser, conversation_id: int, changes: dict[str, Any]) -> None:
    """Several changes at once (the API's PATCH): all apply, or none (one bad assignee rolls
    back the status change made with it)."""
    if ("issue_type" in changes or "sku" in changes) and changes.get("status") != "resolved":
        raise ServiceError(
            "An issue type is set when resolving.", code="invalid", details={"status": None}
        )
    if "status" in changes:
        conversation_set_status(
            actor=actor,
            conversation_id=conversation_id,
            status=changes["status"],
            snoozed_until=changes.get("snoozed_until"),
            issue_type=changes.get("issue_type"),
            sku=changes.get("sku"),
        )
    if "priority" in changes:
        conversation_set_priority(
            actor=actor, conversation_id=conversation_id, priority=changes["priority"]
        )
    if "assignee_id" in changes:
        conversation_assign(
            actor=actor, conversation_id=conversation_id, assignee_id=changes["assignee_id"]
        )
    if changes.get("add_tags") or changes.get("remove_tags"):
        conversation_tag(
            actor=actor,
            conversation_id=conversation_id,
            add=changes.get("add_tags", []),
            remove=changes.get("remove_tags", []),
        )


def _bulk_ids(actor: AnyUser, ids: list[int]) -> list[int]:
    if not ids:
        raise ServiceError("No conversations given.", code="invalid")
    if len(ids) > MAX_BULK:
        raise ServiceError(f"At most {MAX_BULK} conversations at once.", code="invalid")
    visible = set(
        Conversation.objects.filter(
            id__in=ids, shop_account_id__in=shop_account_ids_for(actor)
        ).values_list("id", flat=True)
    )
    missing = sorted(set(ids) - visible)
    if missing:
        raise NotFound("Some conversations were not found.", details={"ids": missing})
    return sorted(visible)


@transaction.atomic
def conversations_bulk_assign(
    *, actor: AnyUser, conversation_ids: list[int], assignee_id: int | None
) -> int:
    """Assign many at once: all or none (any not visible → 404, any bad assignee → 400)."""
    member_for(actor)
    for cid in _bulk_ids(actor, conversation_ids):
        conversation_assign(actor=actor, conversation_id=cid, assignee_id=assignee_id)
    return len(conversation_ids)


@transaction.atomic
def conversations_bulk_resolve(*, actor: AnyUser, conversation_ids: list[int]) -> int:
    for cid in _bulk_ids(actor, conversation_ids):
        conversation_set_status(
            actor=actor, conversation_id=cid, status=ConversationStatus.RESOLVED
        )
    return len(conversation_ids)


def conversations_wake_snoozed() -> int:
    """Reopen snoozed conversations whose time has come (a periodic job); each move is the
    state service's (audited as ``conversation.woke``) and published like any status change."""
    from django.utils import timezone

    due = list(
        Conversation.objects.filter(
            status=ConversationStatus.SNOOZED, snoozed_until__lte=timezone.now()
        ).values_list("id", flat=True)[:500]
    )
    for conversation_id in due:
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("shop_account", "customer", "assignee")
                .get(id=conversation_id)
            )
            if conversation.status != ConversationStatus.SNOOZED:
                continue  # woken by a buyer message or a person meanwhile
            conversation_transition(conversation=conversation, trigger=Trigger.SNOOZE_ENDED)
            _publish_row(conversation)
    return len(due)
