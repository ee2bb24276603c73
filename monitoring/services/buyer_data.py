"""monitoring's part of a buyer's data request (docs/customer-data.md, "A buyer's data on
request"): what the monitor holds about one buyer's conversations, for the export, and its
erasure. The inbox's ``buyer_data`` services call these (apps meet through services and
selectors, never each other's tables); they check who may ask before calling.

What the monitor holds about a buyer: the violations raised in their conversations (the
agent's text, which may quote or name the buyer), the risk tags their messages raised, and the
audit events whose target is one of their rows (ids and actions only: audit rows never hold
personal data, so erasure leaves them, and the chain still verifies).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Q

from monitoring.models import AuditEvent, BuyerRisk, Violation


def violations_of_conversations(*, conversation_ids: Collection[int]) -> list[dict[str, Any]]:
    """The violations raised in these conversations, oldest first, with their text (an export
    the user asked for)."""
    rows = Violation.objects.filter(conversation_id__in=list(conversation_ids)).order_by(
        "created_at", "id"
    )
    return [
        {
            "id": v.id,
            "conversation_id": v.conversation_id,
            "shop_account_id": v.shop_account_id,
            "created_at": v.created_at.isoformat(),
            "source": v.source,
            "category": v.category,
            "action": v.action,
            "status": v.status,
            "text": v.text,
        }
        for v in rows
    ]


def risk_flags_of_conversations(*, conversation_ids: Collection[int]) -> list[dict[str, Any]]:
    """The risk tags the buyer's messages raised in these conversations, oldest first."""
    rows = BuyerRisk.objects.filter(conversation_id__in=list(conversation_ids)).order_by(
        "created_at", "id"
    )
    return [
        {
            "conversation_id": r.conversation_id,
            "message_id": r.message_id,
            "tag": r.tag,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def audit_events_about(
    *, organisation_id: int, targets: dict[str, Collection[int]]
) -> list[dict[str, Any]]:
    """The audit events of the organisation whose target is one of ``targets`` (model label ->
    ids, e.g. ``{"inbox.customer": [17]}``): ids, actions and times, oldest first."""
    match = Q(pk__in=[])
    for label, ids in targets.items():
        if ids:
            match |= Q(target_type=label, target_id__in=[str(i) for i in ids])
    rows = (
        AuditEvent.objects.filter(match, organisation_id=organisation_id)
        .order_by("id")
        .values("id", "action", "target_type", "target_id", "actor_id", "created_at")
    )
    return [{**row, "created_at": row["created_at"].isoformat()} for row in rows]


def violations_erase_for_conversations(*, conversation_ids: Collection[int]) -> int:
    """Wipe the text of the violations raised in these conversations (a buyer's erasure); the
    rows stay, with their category, action and review, for the supervisors' counts. Returns
    how many. Call it inside the erasure's transaction."""
    return Violation.objects.filter(conversation_id__in=list(conversation_ids)).update(text="")


def buyer_risks_erase_for_conversations(*, conversation_ids: Collection[int]) -> int:
    """Delete the risk tags raised by the buyer's messages in these conversations (a buyer's
    erasure: a tag is a judgement about the person). Returns how many."""
    deleted, _ = BuyerRisk.objects.filter(conversation_id__in=list(conversation_ids)).delete()
    return deleted
