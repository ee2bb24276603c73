"""What follows a violation: telling the supervisors it was raised (audit + the live
``violation.flagged`` event, called by ``violation_record``), and their review of it —
acknowledge, dismiss as a false positive (which proposes an allow-list entry), escalate.

Transitions: an open violation may be acknowledged, dismissed or escalated; an escalated one
acknowledged or dismissed; acknowledged and dismissed are final (a second review is a 409, so
two supervisors reviewing at once cannot both win). Every review is audited with ids and
enumerated values only, never the text.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.selectors.accounts import AnyUser
from monitoring.events import VIOLATION_FLAGGED
from monitoring.models import AllowEntry, Violation, ViolationStatus
from monitoring.services.audit import audit_record
from monitoring.violation_selectors import violation_get
from scrm.api import Conflict, ServiceError
from scrm.events import event_publish

# Where each review may go from.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    ViolationStatus.ACKNOWLEDGED: (ViolationStatus.OPEN, ViolationStatus.ESCALATED),
    ViolationStatus.DISMISSED: (ViolationStatus.OPEN, ViolationStatus.ESCALATED),
    ViolationStatus.ESCALATED: (ViolationStatus.OPEN,),
}


def violation_payload(violation: Violation) -> dict[str, Any]:
    """The ``violation.flagged`` payload: ids and enumerated values, no text."""
    return {
        "id": violation.id,
        "shop_account_id": violation.shop_account_id,
        "conversation_id": violation.conversation_id,
        "actor_id": violation.actor_id,
        "actor_name": violation.actor_name,
        "category": violation.category,
        "action": violation.action,
        "source": violation.source,
        "created_at": violation.created_at.isoformat(),
    }


def violation_raised(violation: Violation) -> None:
    """Audit a just-recorded violation (``violation.raised``, by its actor) and tell the
    organisation's supervisors (``violation.flagged``, pushed when the transaction commits).
    Call it in the transaction that inserted the row."""
    audit_record(
        organisation_id=violation.organisation_id,
        actor=violation.actor,
        action="violation.raised",
        target=violation,
        shop_account_id=violation.shop_account_id,
        data={
            "conversation_id": violation.conversation_id,
            "category": violation.category,
            "action": violation.action,
            "source": violation.source,
            "matches": len(violation.matches or []),
        },
    )
    event_publish(
        organisation_id=violation.organisation_id,
        type=VIOLATION_FLAGGED,
        data=violation_payload(violation),
    )


def _review(*, actor: AnyUser, violation_id: int, to: str) -> Violation:
    violation = violation_get(actor, violation_id)  # NotFound outside the reviewer's reach
    locked = Violation.objects.select_for_update().get(pk=violation.pk)
    if locked.status not in ALLOWED_FROM[to]:
        raise Conflict(
            _("This violation was already reviewed."),
            code="already_reviewed",
            details={"status": locked.status},
        )
    before = locked.status
    locked.status, locked.reviewed_by, locked.reviewed_at = to, actor, timezone.now()  # type: ignore[assignment]
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        organisation_id=locked.organisation_id,
        actor=actor,
        action=f"violation.{to}",
        target=locked,
        shop_account_id=locked.shop_account_id,
        data={"from": before, "to": to, "category": locked.category},
    )
    locked.shop_account = violation.shop_account
    return locked


@transaction.atomic
def violation_acknowledge(*, actor: AnyUser, violation_id: int) -> Violation:
    """A supervisor agrees it was a violation (open or escalated -> acknowledged)."""
    return _review(actor=actor, violation_id=violation_id, to=ViolationStatus.ACKNOWLEDGED)


@transaction.atomic
def violation_dismiss(*, actor: AnyUser, violation_id: int) -> Violation:
    """A false positive (open or escalated -> dismissed). The page then proposes an allow-list
    entry (``violation_allow``); dismissing adds none by itself."""
    return _review(actor=actor, violation_id=violation_id, to=ViolationStatus.DISMISSED)


@transaction.atomic
def violation_escalate(*, actor: AnyUser, violation_id: int) -> Violation:
    """Needs more than a supervisor's look (open -> escalated)."""
    return _review(actor=actor, violation_id=violation_id, to=ViolationStatus.ESCALATED)


@transaction.atomic
def violation_allow(
    *, actor: AnyUser, violation_id: int, phrase: str, whole_organisation: bool = False
) -> AllowEntry:
    """Add ``phrase`` (the dismissal's proposal, as the supervisor left it) to the allow-list
    of the violation's shop (or of the organisation), through the word lists' own service,
    which audits the change and moves the list's version."""
    violation = violation_get(actor, violation_id)
    phrase = (phrase or "").strip()
    if not phrase or len(phrase) > 200:
        raise ServiceError(_("Give a phrase of 1 to 200 characters."), code="invalid_phrase")
    try:
        from monitoring.services.words import allow_entry_add
    except ImportError:  # the word lists' services are not installed
        raise ServiceError(_("Allow-lists are not available."), code="unavailable") from None
    shop = (
        None
        if whole_organisation or violation.shop_account_id is None
        else violation.shop_account_id
    )
    return allow_entry_add(
        actor=actor,
        organisation_id=violation.organisation_id,
        shop_account_id=shop,
        kind="phrase",
        value=phrase,
    )
