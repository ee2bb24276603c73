"""Everything held about one buyer across the organisation, as one document (JSON, and the
readable page renders the same document). Unmasked: the person asked for this buyer's file,
may do so (``access.may_export``), and the export is audited in the same transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    Conversation,
    Customer,
    CustomerField,
    Message,
    Note,
    Order,
)
from inbox.services.buyer_data.access import AnyUser, may_export
from monitoring.services.audit import audit_record
from monitoring.services.buyer_data import (
    audit_events_about,
    risk_flags_of_conversations,
    violations_of_conversations,
)

FORMAT = "scrm.buyer-data/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _who(user: Any) -> str:
    return user.get_username() if user is not None else ""


def profiles_of(customer: Customer) -> list[Customer]:
    """The customer and the profiles merged into it (one person: their data is theirs too)."""
    merged = Customer.objects.filter(merged_into_id=customer.pk).order_by("id")
    return [customer, *merged]


def _profile(customer: Customer, labels: dict[str, str]) -> dict[str, Any]:
    custom = customer.custom_fields or {}
    return {
        "id": customer.pk,
        "platform": customer.platform,
        "platform_user_id": customer.platform_user_id,
        "im_user_id": customer.im_user_id,
        "name": customer.display_name,
        "avatar_url": customer.avatar_url,
        "real_name": customer.real_name,
        "phone": customer.phone,
        "email": customer.email,
        "language": customer.language,
        "country": customer.country,
        "custom_fields": [
            {"key": key, "label": labels.get(key, key), "value": value}
            for key, value in sorted(custom.items())
        ],
        "tags": sorted(t.name for t in customer.tags.all()),
        "merged_into_id": customer.merged_into_id,
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
        "erased_at": _iso(customer.erased_at),
        "notes": [
            {"id": n.id, "text": n.text, "author": _who(n.author), "created_at": _iso(n.created_at)}
            for n in customer.profile_notes.select_related("author")
        ],
        "follow_ups": [
            {
                "id": f.id,
                "promise": f.promise,
                "shop_account_id": f.shop_account_id,
                "conversation_id": f.conversation_id,
                "owner": _who(f.owner),
                "due_at": _iso(f.due_at),
                "done_at": _iso(f.done_at),
                "created_at": _iso(f.created_at),
            }
            for f in customer.follow_ups.select_related("owner")
        ],
    }


def _conversations(ids: list[int]) -> list[dict[str, Any]]:
    rows = (
        Conversation.objects.filter(customer_id__in=ids)
        .select_related("shop_account")
        .prefetch_related(
            Prefetch("messages", queryset=Message.objects.order_by("sent_at", "id")),
            Prefetch("notes", queryset=Note.objects.select_related("author")),
        )
        .order_by("created_at", "id")
    )
    return [
        {
            "id": c.id,
            "shop": {"id": c.shop_account_id, "name": c.shop_account.name},
            "platform_conversation_id": c.platform_conversation_id,
            "status": c.status,
            "created_at": _iso(c.created_at),
            "last_message_at": _iso(c.last_message_at),
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "sender_role": m.sender_role,
                    "type": m.type,
                    "text": m.text,
                    "content": m.content,
                    "sent_at": _iso(m.sent_at),
                    "delivery_state": m.delivery_state,
                }
                for m in c.messages.all()
            ],
            "notes": [
                {
                    "id": n.id,
                    "text": n.text,
                    "author": _who(n.author),
                    "created_at": _iso(n.created_at),
                }
                for n in c.notes.all()
            ],
        }
        for c in rows
    ]


def _address(value: str) -> Any:
    """A recipient address as the platform gave it (a JSON document), else as stored."""
    try:
        return json.loads(value) if value.startswith("{") else value
    except ValueError:
        return value


def _orders(ids: list[int]) -> list[dict[str, Any]]:
    rows = (
        Order.objects.filter(customer_id__in=ids)
        .select_related("shop_account")
        .order_by("platform_created_at", "id")
    )
    return [
        {
            "id": o.id,
            "shop": {"id": o.shop_account_id, "name": o.shop_account.name},
            "platform_order_id": o.platform_order_id,
            "status": o.status,
            "currency": o.currency,
            "total_amount": o.total_amount,
            "lines": o.lines,
            "recipient": {
                "name": o.recipient_name,
                "phone": o.recipient_phone,
                "address": _address(o.recipient_address),
                "email": o.recipient_email,
            },
            "created_at": _iso(o.platform_created_at),
        }
        for o in rows
    ]


def _cases(customer_ids: list[int], conversation_ids: list[int]) -> list[dict[str, Any]]:
    cases = list(
        AfterSalesCase.objects.filter(
            Q(customer_id__in=customer_ids) | Q(conversation_id__in=conversation_ids)
        ).order_by("platform_created_at", "id")
    )
    decisions: dict[int, list[AfterSalesDecision]] = {}
    for d in AfterSalesDecision.objects.filter(case_id__in=[c.id for c in cases]).order_by("id"):
        decisions.setdefault(d.case_id, []).append(d)
    return [
        {
            "id": c.id,
            "shop_account_id": c.shop_account_id,
            "family": c.family,
            "kind": c.kind,
            "platform_case_id": c.platform_case_id,
            "order_platform_id": c.order_platform_id,
            "platform_status": c.platform_status,
            "stage": c.stage,
            "reason_code": c.reason_code,
            "buyer_reason": c.buyer_reason,
            "amounts": c.amounts,
            "lines": c.lines,
            "evidence": c.evidence,
            "created_at": _iso(c.platform_created_at),
            "decisions": [
                {
                    "id": d.id,
                    "verb": d.verb,
                    "decision": d.decision,
                    "reject_reason": d.reject_reason,
                    "comment": d.comment,
                    "created_at": _iso(d.created_at),
                }
                for d in decisions.get(c.id, [])
            ],
        }
        for c in cases
    ]


@transaction.atomic
def customer_export(*, actor: AnyUser, customer_id: int) -> dict[str, Any]:
    """Everything held about one buyer (and the profiles merged into theirs): profile fields,
    custom fields, tags, notes, follow-ups, conversations with every message and note, orders
    with their recipients in full, after-sales cases and decisions, violations in their
    conversations, risk flags, and the audit events about them (ids and actions).

    Keeps: only for ``access.may_export`` (404 outside the person's reach, 403 for a role
    that may not); audited as ``customer.exported`` (ids and counts) in the same transaction.
    """
    customer = may_export(actor, customer_id)
    profiles = profiles_of(customer)
    ids = [p.pk for p in profiles]
    labels = dict(
        CustomerField.objects.filter(organisation_id=customer.organisation_id).values_list(
            "key", "label"
        )
    )
    conversations = _conversations(ids)
    conversation_ids = [c["id"] for c in conversations]
    cases = _cases(ids, conversation_ids)
    message_ids = [m["id"] for c in conversations for m in c["messages"]]
    document = {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "organisation_id": customer.organisation_id,
        "profile": _profile(customer, labels),
        "merged_profiles": [_profile(p, labels) for p in profiles[1:]],
        "conversations": conversations,
        "orders": _orders(ids),
        "after_sales_cases": cases,
        "violations": violations_of_conversations(conversation_ids=conversation_ids),
        "risk_flags": risk_flags_of_conversations(conversation_ids=conversation_ids),
        "audit_events": audit_events_about(
            organisation_id=customer.organisation_id,
            targets={
                "inbox.customer": ids,
                "inbox.conversation": conversation_ids,
                "inbox.message": message_ids,
                "inbox.aftersalescase": [c["id"] for c in cases],
            },
        ),
    }
    audit_record(
        organisation_id=customer.organisation_id,
        actor=actor,
        action="customer.exported",
        target=customer,
        data={"counts": export_counts(document)},
    )
    return document


def export_counts(document: dict[str, Any]) -> dict[str, int]:
    """How much an export holds (what its audit event records)."""
    return {
        "profiles": 1 + len(document["merged_profiles"]),
        "conversations": len(document["conversations"]),
        "messages": sum(len(c["messages"]) for c in document["conversations"]),
        "orders": len(document["orders"]),
        "after_sales_cases": len(document["after_sales_cases"]),
        "violations": len(document["violations"]),
        "audit_events": len(document["audit_events"]),
    }
