"""Standard compensation suggestions per issue type (coupon, partial refund, resend), with
their cost, configured by supervisors and shown to agents on the after-sales case card.

Invariants kept here: supervisors and admins of the organisation only; a bad field is a 400
naming it; every change audited (ids and values: a suggestion holds no buyer data). A
suggestion is never applied by itself: the agent decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.models import CompensationKind, CompensationSuggestion, IssueType
from inbox.selectors.accounts import AnyUser
from inbox.selectors.rules import supervisor_for
from monitoring.audit import audit_record
from scrm.api import NotFound, ServiceError

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_COST = Decimal("999999999.99")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={"field": field, field: [message]})


def _choice(data: Mapping[str, Any], name: str, values: list[str]) -> str:
    value = data.get(name)
    if not isinstance(value, str) or value not in values:
        raise _invalid(name, gettext_noop("Choose one of the offered values."))
    return value


def _cost(data: Mapping[str, Any]) -> Decimal:
    value = data.get("cost")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid("cost", gettext_noop("Enter an amount."))
    try:
        cost = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid("cost", gettext_noop("Enter an amount.")) from None
    if not cost.is_finite() or cost < 0 or cost > MAX_COST:
        raise _invalid("cost", gettext_noop("Enter an amount of 0 or more."))
    return cost.quantize(Decimal("0.01"))


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 120:
        raise _invalid("title", gettext_noop("Enter a title of at most 120 characters."))
    currency = data.get("currency")
    currency = currency.strip().upper() if isinstance(currency, str) else ""
    if not CURRENCY_RE.match(currency):
        raise _invalid("currency", gettext_noop("Enter a currency code (e.g. USD)."))
    return {
        "issue_type": _choice(data, "issue_type", list(IssueType.values)),
        "kind": _choice(data, "kind", list(CompensationKind.values)),
        "title": title.strip(),
        "cost": _cost(data),
        "currency": currency,
    }


@transaction.atomic
def compensation_create(*, actor: AnyUser, data: Mapping[str, Any]) -> CompensationSuggestion:
    """A new suggestion, listed after the others of its issue type."""
    member = supervisor_for(actor)
    fields = _fields(data)
    position = CompensationSuggestion.objects.filter(
        organisation_id=member.organisation_id, issue_type=fields["issue_type"]
    ).count()
    row = CompensationSuggestion.objects.create(
        organisation_id=member.organisation_id, position=position, **fields
    )
    _audit(actor, row, "compensation.created")
    return row


@transaction.atomic
def compensation_update(
    *, actor: AnyUser, suggestion_id: int, data: Mapping[str, Any]
) -> CompensationSuggestion:
    """Change a suggestion's fields, or only switch it on or off (``is_active`` alone)."""
    member = supervisor_for(actor)
    row = (
        CompensationSuggestion.objects.select_for_update()
        .filter(id=suggestion_id, organisation_id=member.organisation_id)
        .first()
    )
    if row is None:
        raise NotFound("Suggestion not found.")
    if set(data) - {"is_active", "csrfmiddlewaretoken"}:
        for name, value in _fields(data).items():
            setattr(row, name, value)
    if "is_active" in data:
        active = data.get("is_active")
        if active not in (True, False, "true", "false", "1", "0", "on", "off"):
            raise _invalid("is_active", gettext_noop("On or off."))
        row.is_active = active in (True, "true", "1", "on")
    row.save()
    _audit(actor, row, "compensation.updated")
    return row


def _audit(actor: AnyUser, row: CompensationSuggestion, action: str) -> None:
    audit_record(
        organisation_id=row.organisation_id,
        actor=actor,
        action=action,
        target=row,
        data={
            "issue_type": row.issue_type,
            "kind": row.kind,
            "cost": str(row.cost),
            "currency": row.currency,
            "is_active": row.is_active,
        },
    )
