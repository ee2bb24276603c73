"""How personal data is shown to people who have not revealed it: one function, ``mask``.

Until the customer-data issue adds revealing (audited), everyone in the inbox, supervisors
included, sees an order's recipient masked:

- ``name``: ``Jane Doe`` -> ``J*** D***`` (each word's first letter);
- ``phone``: ``(+1)5550101234`` -> ``*** 1234`` (the last 4 digits);
- ``email``: ``jane@doe.example.com`` -> ``j***@d***.com`` (first letters, the top-level
  domain);
- ``address``: the stored recipient JSON (``services.orders.recipient_json``) ->
  ``San Francisco, California, US`` (city, region, country; never the street or postcode).

Pure and total: any input (empty, malformed, not the kind's shape) gives a masked string or
"", never the input itself and never an exception.
"""

from __future__ import annotations

import json

MASK = "***"
KINDS = ("name", "phone", "email", "address")


def _name(value: str) -> str:
    return " ".join(word[0] + MASK for word in value.split())


def _phone(value: str) -> str:
    digits = [ch for ch in value if ch.isdigit()]
    if len(digits) < 7:  # too short to show any digit of
        return MASK if value.strip() else ""
    return f"{MASK} {''.join(digits[-4:])}"


def _email(value: str) -> str:
    local, at, domain = value.strip().partition("@")
    if not at or not local or not domain:
        return MASK if value.strip() else ""
    host, dot, top = domain.rpartition(".")
    if not dot or not host:
        return f"{local[0]}{MASK}@{MASK}"
    return f"{local[0]}{MASK}@{host[0]}{MASK}.{top}"


def _address(value: str) -> str:
    try:
        data = json.loads(value)
    except ValueError:
        return MASK if value.strip() else ""
    if not isinstance(data, dict):
        return MASK
    parts = [data.get(key) for key in ("city", "region", "region_code")]
    shown = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
    return ", ".join(dict.fromkeys(shown)) or MASK


_MASKERS = {"name": _name, "phone": _phone, "email": _email, "address": _address}


def mask(kind: str, value: str | None) -> str:
    """``value`` (a personal field of kind ``name``, ``phone``, ``email`` or ``address``) as
    people who have not revealed it see it; "" for an empty value."""
    if not value or not value.strip():
        return ""
    return _MASKERS[kind](value)
