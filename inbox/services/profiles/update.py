"""Changing a customer's own fields: phone, e-mail, language, country, custom field values
(checked against their definitions) and tags."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.models import Customer, CustomerField, CustomerFieldKind, Tag
from inbox.selectors import AnyUser
from inbox.services.profiles.common import audit, customer_locked
from inbox.services.search_tokens import customer_tokens_write
from scrm.api import ServiceError
from scrm.blind import org_index_for

SEARCHABLE = ("phone", "email")
MAX_TAGS = 20
MAX_TEXT = 500
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,32}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")


def _invalid(message: str, field: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={field: message})


def clean_phone(value: str) -> str:
    value = value.strip()
    digits = sum(ch.isdigit() for ch in value)
    if value and (not _PHONE.match(value) or digits < 6):
        raise _invalid(gettext_noop("Enter a phone number (digits, an optional +)."), "phone")
    return value


def clean_email(value: str) -> str:
    value = value.strip()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise _invalid(gettext_noop("Enter a valid e-mail address."), "email") from None
    return value


def _clean_simple(changes: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    if "phone" in changes:
        out["phone"] = clean_phone(str(changes["phone"] or ""))
    if "email" in changes:
        out["email"] = clean_email(str(changes["email"] or ""))
    if "language" in changes:
        language = str(changes["language"] or "").strip()
        if language and not _LANGUAGE.match(language):
            raise _invalid(gettext_noop("Enter a language code such as en or zh-Hans."), "language")
        out["language"] = language
    if "country" in changes:
        country = str(changes["country"] or "").strip().upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise _invalid(gettext_noop("Enter a two-letter country code such as US."), "country")
        out["country"] = country
    return out


def field_value(definition: CustomerField, value: Any) -> Any:
    """``value`` checked against its definition's kind (None or "" clears it)."""
    if value is None or value == "":
        return None
    kind = definition.kind
    bad = _invalid(gettext_noop("This value does not fit the field."), definition.key)
    if kind == CustomerFieldKind.TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise bad
        return value.strip()
    if kind == CustomerFieldKind.NUMBER:
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number) or abs(number) > 1e15:
            raise bad
        return int(number) if number.is_integer() else number
    if kind == CustomerFieldKind.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad from None
    if kind == CustomerFieldKind.CHOICE:
        if value not in (definition.choices or []):
            raise bad
        return value
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes", "1", "on"):
        return True
    if str(value).lower() in ("false", "no", "0", "off"):
        return False
    raise bad


def _clean_custom(customer: Customer, values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise _invalid(gettext_noop("Custom fields are a map of field keys to values."), "custom")
    definitions = {
        f.key: f
        for f in CustomerField.objects.filter(
            organisation_id=customer.organisation_id, is_active=True
        )
    }
    merged = dict(customer.custom_fields or {})
    for key, value in values.items():
        definition = definitions.get(str(key))
        if definition is None:
            raise _invalid(gettext_noop("There is no such custom field."), str(key)[:40])
        cleaned = field_value(definition, value)
        if cleaned is None:
            merged.pop(definition.key, None)
        else:
            merged[definition.key] = cleaned
    return merged


def _set_tags(customer: Customer, names: Any) -> bool:
    if not isinstance(names, list) or len(names) > MAX_TAGS:
        raise _invalid(gettext_noop("Tags are a list of at most 20 names."), "tags")
    wanted = list(dict.fromkeys(str(n).strip()[:50] for n in names if str(n).strip()))
    before = set(customer.tags.values_list("name", flat=True))
    if before == set(wanted):
        return False
    tags = [
        Tag.objects.get_or_create(organisation_id=customer.organisation_id, name=name)[0]
        for name in wanted
    ]
    customer.tags.set(tags)
    return True


@transaction.atomic
def customer_update(*, actor: AnyUser, customer_id: int, changes: dict[str, Any]) -> Customer:
    """Change a customer's phone, e-mail, language, country, custom field values (merged into
    the stored ones; None clears one) and tags (the whole list).

    Keeps: every value checked before anything is written (a 400 changes nothing); the search
    tokens follow a changed phone or e-mail; one audit row naming the fields changed, never
    their values."""
    customer = customer_locked(actor, customer_id)
    simple = _clean_simple(changes)
    changed = [k for k, v in simple.items() if (getattr(customer, k) or "") != v]
    custom = (
        _clean_custom(customer, changes["custom_fields"]) if "custom_fields" in changes else None
    )
    if custom is not None and custom != (customer.custom_fields or {}):
        customer.custom_fields = custom
        changed.append("custom_fields")
    for key in changed:
        if key in simple:
            setattr(customer, key, simple[key])
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
    if "tags" in changes and _set_tags(customer, changes["tags"]):
        changed.append("tags")
    if any(k in SEARCHABLE for k in changed):
        customer_tokens_write(customer, org_index_for(customer.organisation_id))
    if changed:
        audit(
            actor,
            organisation_id=customer.organisation_id,
            action="customer.updated",
            target=customer,
            data={"fields": sorted(changed)},
        )
    return customer
