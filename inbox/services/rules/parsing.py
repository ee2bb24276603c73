"""A rule's fields from a form or a JSON body, checked: a bad value is a 400 naming its field.

Lists come as JSON lists or as text (one item per line or comma-separated); a form's
checkboxes as repeated fields (``QueryDict.getlist``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_noop

from inbox.models import CaseKind, RuleDecision
from scrm.api import ServiceError

MAX_ITEMS = 200
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("999999999.99")


@dataclass
class RuleInput:
    name: str
    position: int | None
    shop_account_ids: list[int]
    kinds: list[str]
    reason_codes: list[str]
    reason_words: list[str]
    amount_min: Decimal | None
    amount_max: Decimal | None
    currency: str
    skus: list[str]
    refunds_month_min: int | None
    refunds_ever_min: int | None
    decision: str
    reject_reason: str
    assign_to_id: int | None
    tag: str
    quick_reply_id: int | None
    note: str


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={"field": field, field: [message]})


def _raw_list(data: Mapping[str, Any], name: str) -> list[Any]:
    getlist = getattr(data, "getlist", None)
    values: list[Any] = list(getlist(name)) if getlist is not None else []
    if getlist is None:
        value = data.get(name)
        values = value if isinstance(value, list) else [] if value in (None, "") else [value]
    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            out.extend(part.strip() for part in re.split(r"[\n,，]", value) if part.strip())
        elif value is not None:
            out.append(value)
    return out


def _strings(data: Mapping[str, Any], name: str, max_length: int) -> list[str]:
    items = _raw_list(data, name)
    if len(items) > MAX_ITEMS or not all(isinstance(i, str | int) for i in items):
        raise _invalid(name, gettext_noop("At most 200 items, each a text."))
    texts = list(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
    if any(len(t) > max_length for t in texts):
        raise _invalid(name, gettext_noop("An item is too long."))
    return texts


def _text(data: Mapping[str, Any], name: str, max_length: int, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(name, gettext_noop("Enter a text."))
    value = value.strip()
    if required and not value:
        raise _invalid(name, gettext_noop("This field is required."))
    if len(value) > max_length:
        raise _invalid(name, gettext_noop("This text is too long."))
    return value


def _int(data: Mapping[str, Any], name: str, *, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _invalid(name, gettext_noop("Enter a whole number."))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _invalid(name, gettext_noop("Enter a whole number.")) from None
    if not low <= number <= high:
        raise _invalid(name, gettext_noop("This number is out of range."))
    return number


def _amount(data: Mapping[str, Any], name: str) -> Decimal | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(name, gettext_noop("Enter an amount."))
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(name, gettext_noop("Enter an amount.")) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise _invalid(name, gettext_noop("Enter an amount of 0 or more."))
    return amount.quantize(Decimal("0.01"))


def _ids(data: Mapping[str, Any], name: str) -> list[int]:
    ids: list[int] = []
    for item in _raw_list(data, name)[: MAX_ITEMS + 1]:
        try:
            number = int(str(item))
        except ValueError:
            raise _invalid(name, gettext_noop("Unknown shop account.")) from None
        if number < 1 or number > 2**62 or isinstance(item, bool):
            raise _invalid(name, gettext_noop("Unknown shop account."))
        ids.append(number)
    if len(ids) > MAX_ITEMS:
        raise _invalid(name, gettext_noop("At most 200 items, each a text."))
    return sorted(set(ids))


def rule_input_parse(data: Mapping[str, Any]) -> RuleInput:
    """The rule's fields, checked one by one (400 ``invalid`` naming the first bad field)."""
    kinds = _strings(data, "kinds", 32)
    if any(k not in CaseKind.values for k in kinds):
        raise _invalid("kinds", gettext_noop("Unknown case type."))
    decision = _text(data, "decision", 8)
    if decision not in RuleDecision.values:
        raise _invalid("decision", gettext_noop("Approve, reject or no decision."))
    amount_min, amount_max = _amount(data, "amount_min"), _amount(data, "amount_max")
    currency = _text(data, "currency", 8).upper()
    if (amount_min is not None or amount_max is not None) and not CURRENCY_RE.match(currency):
        raise _invalid("currency", gettext_noop("An amount needs its currency (e.g. USD)."))
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        raise _invalid("amount_max", gettext_noop("The most must not be below the least."))
    return RuleInput(
        name=_text(data, "name", 120, required=True),
        position=_int(data, "position", low=0, high=100000),
        shop_account_ids=_ids(data, "shop_account_ids"),
        kinds=kinds,
        reason_codes=_strings(data, "reason_codes", 128),
        reason_words=_strings(data, "reason_words", 100),
        amount_min=amount_min,
        amount_max=amount_max,
        currency=currency if currency and CURRENCY_RE.match(currency) else "",
        skus=_strings(data, "skus", 128),
        refunds_month_min=_int(data, "refunds_month_min", low=1, high=1000),
        refunds_ever_min=_int(data, "refunds_ever_min", low=1, high=1000),
        decision=decision,
        reject_reason=_text(data, "reject_reason", 128),
        assign_to_id=_int(data, "assign_to", low=1, high=2**62),
        tag=_text(data, "tag", 50),
        quick_reply_id=_int(data, "quick_reply", low=1, high=2**31 - 1),
        note=_text(data, "note", 2000),
    )
