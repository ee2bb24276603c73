"""The organisation's own customer fields (e.g. "VIP level"): supervisors and admins define,
rename and archive them; a field's key and kind never change once made, so stored values keep
their meaning (an archived field's values stay, hidden)."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from inbox.models import CustomerField, CustomerFieldKind
from inbox.selectors import AnyUser
from inbox.services.profiles.common import audit, supervisor_for
from scrm.api import NotFound, ServiceError

MAX_FIELDS = 50
MAX_CHOICES = 50
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _bad(message: str, field: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={field: message})


def _label(value: Any) -> str:
    label = str(value or "").strip()
    if not label or len(label) > 80:
        raise _bad(gettext_noop("A label of 1 to 80 characters is needed."), "label")
    return label


def _choices(kind: str, value: Any) -> list[str]:
    if kind != CustomerFieldKind.CHOICE:
        return []
    if not isinstance(value, list):
        raise _bad(gettext_noop("A choice field needs a list of choices."), "choices")
    choices = list(dict.fromkeys(str(c).strip()[:80] for c in value if str(c).strip()))
    if not choices or len(choices) > MAX_CHOICES:
        raise _bad(gettext_noop("A choice field needs 1 to 50 choices."), "choices")
    return choices


@transaction.atomic
def customer_field_create(
    *, actor: AnyUser, key: str, label: str, kind: str, choices: Any = None
) -> CustomerField:
    """Add a field to every profile of the organisation. Keeps: the key is unique in the
    organisation (409 otherwise), lower-case letters, digits and _; supervisors and admins
    only (403)."""
    member = supervisor_for(actor)
    if not _KEY.match(str(key or "")):
        raise _bad(gettext_noop("A key of lower-case letters, digits and _ is needed."), "key")
    if kind not in CustomerFieldKind.values:
        raise _bad(gettext_noop("Unknown field kind."), "kind")
    org = member.organisation_id
    count = CustomerField.objects.filter(organisation_id=org)
    if count.count() >= MAX_FIELDS:
        raise _bad(gettext_noop("An organisation has at most 50 custom fields."), "key")
    try:
        with transaction.atomic():
            definition = CustomerField.objects.create(
                organisation_id=org,
                key=key,
                label=_label(label),
                kind=kind,
                choices=_choices(kind, choices),
                position=count.count(),
            )
    except IntegrityError:
        raise ServiceError(
            gettext_noop("A field with this key exists already."),
            code="duplicate",
            status_code=409,
            details={"key": "duplicate"},
        ) from None
    audit(actor, organisation_id=org, action="customer_field.created", target=definition)
    return definition


def _locked(actor: AnyUser, field_id: int) -> CustomerField:
    member = supervisor_for(actor)
    definition = (
        CustomerField.objects.select_for_update()
        .filter(id=field_id, organisation_id=member.organisation_id)
        .first()
    )
    if definition is None:
        raise NotFound(gettext_noop("Field not found."))
    return definition


@transaction.atomic
def customer_field_update(
    *, actor: AnyUser, field_id: int, changes: dict[str, Any]
) -> CustomerField:
    """Rename a field, change its choices or position, or bring it back (``is_active``).
    Keeps: the key and kind never change (400 when asked)."""
    definition = _locked(actor, field_id)
    if "key" in changes or "kind" in changes:
        raise _bad(gettext_noop("A field's key and kind cannot change."), "kind")
    if "label" in changes:
        definition.label = _label(changes["label"])
    if "choices" in changes:
        definition.choices = _choices(definition.kind, changes["choices"])
    if "position" in changes:
        position = changes["position"]
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < 1000:
            raise _bad(gettext_noop("A position from 0 to 999 is needed."), "position")
        definition.position = position
    if "is_active" in changes:
        definition.is_active = bool(changes["is_active"])
    definition.save()
    audit(
        actor,
        organisation_id=definition.organisation_id,
        action="customer_field.updated",
        target=definition,
        data={
            "fields": sorted(
                k for k in changes if k in ("label", "choices", "position", "is_active")
            )
        },
    )
    return definition


@transaction.atomic
def customer_field_archive(*, actor: AnyUser, field_id: int) -> CustomerField:
    """Hide a field from profiles; the values stored stay (bring it back to see them)."""
    definition = _locked(actor, field_id)
    if definition.is_active:
        definition.is_active = False
        definition.save(update_fields=["is_active"])
        audit(
            actor,
            organisation_id=definition.organisation_id,
            action="customer_field.archived",
            target=definition,
        )
    return definition
