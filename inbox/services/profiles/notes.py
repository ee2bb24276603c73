"""Internal notes about a buyer (not one conversation): encrypted, never sent to the buyer."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.models import CustomerNote
from inbox.selectors import AnyUser, member_for
from inbox.selectors.profiles import customer_visible
from inbox.services.profiles.common import audit, customer_locked
from scrm.api import Forbidden, NotFound, ServiceError

MAX_NOTE = 5000


@transaction.atomic
def customer_note_add(*, actor: AnyUser, customer_id: int, text: str) -> CustomerNote:
    """Add a note to a customer the actor may see. Keeps: 1 to 5000 characters; audited
    (ids only: the note's text is never in the audit row)."""
    text = (text or "").strip()
    if not text or len(text) > MAX_NOTE:
        raise ServiceError(
            gettext_noop("A note of 1 to 5000 characters is needed."),
            code="invalid",
            details={"text": "1-5000 characters"},
        )
    customer = customer_locked(actor, customer_id)
    note = CustomerNote.objects.create(
        customer=customer, author_id=member_for(actor).user_id, text=text
    )
    audit(
        actor,
        organisation_id=customer.organisation_id,
        action="customer.note_added",
        target=note,
        data={"customer_id": customer.pk},
    )
    return note


@transaction.atomic
def customer_note_delete(*, actor: AnyUser, customer_id: int, note_id: int) -> None:
    """Delete a note: its author, or a supervisor or admin. Keeps: a note of a customer the
    actor cannot see is not found (404); another agent's note is a 403."""
    member = member_for(actor)
    note = (
        CustomerNote.objects.select_for_update()
        .filter(
            id=note_id,
            customer_id=customer_id,
            customer__in=customer_visible(actor).values("id"),
        )
        .first()
    )
    if note is None:
        raise NotFound(gettext_noop("Note not found."))
    if note.author_id != member.user_id and not member.sees_all_shops:
        raise Forbidden(gettext_noop("Only the note's author or a supervisor may delete it."))
    audit(
        actor,
        organisation_id=member.organisation_id,
        action="customer.note_deleted",
        target=note,
        data={"customer_id": customer_id},
    )
    note.delete()
