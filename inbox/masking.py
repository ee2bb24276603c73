"""How personal data is shown to people who have not revealed it: one function, ``mask``.

Phones, e-mails, addresses and real names (a customer's profile, an order's recipient) are
shown masked in every page, endpoint, websocket event, export and log line, to everyone,
supervisors included, until the person is given the reveal permission for the shop
(``ShopMembership.can_reveal``) and reveals one value, with a reason, audited
(``inbox.services.reveal``). The platform nickname the buyer chats under is not masked.

- ``phone``: ``(+1)5550104821`` -> ``+1 ***-***-4821`` (the country code when the value has
  one, the last 4 digits);
- ``email``: ``lina@gmail.com`` -> ``l***@gmail.com`` (the first letter, the domain kept);
- ``name`` (a real name): ``Li Wei`` -> ``Li**`` (the first word's first 2 letters, 1 for
  Chinese, Japanese or Korean: ``李伟`` -> ``李**``);
- ``address``: the stored recipient JSON (``services.orders.recipient_json``) ->
  ``San Francisco, California, US`` (city, region, country; never the street or postcode).

Pure and total: any input (empty, malformed, not the kind's shape) gives a masked string or
"", never the input itself and never an exception.
"""

from __future__ import annotations

import json
import re
import unicodedata

MASK = "***"
KINDS = ("name", "phone", "email", "address")
# The personal fields people may reveal (``inbox.services.reveal``), by subject, and the kind
# each is masked as. A customer's ``addresses`` are those of its orders.
REVEALABLE: dict[str, dict[str, str]] = {
    "customer": {"real_name": "name", "phone": "phone", "email": "email", "addresses": "address"},
    "order": {
        "recipient_name": "name",
        "recipient_phone": "phone",
        "recipient_email": "email",
        "recipient_address": "address",
    },
}

# E.164 country calling codes are prefix-free: these are the 1- and 2-digit ones, every other
# code has 3 digits (ITU-T E.164 assignment list).
_CC1 = {"1", "7"}
_CC2 = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
}  # fmt: skip
_PLUS_CODE = re.compile(r"^\s*\(?\s*(?:\+|00)\s*(\d{1,3})\s*\)?[\s\-.]*(.*)$")
_MIN_PHONE_DIGITS = 7  # fewer: no digit of it is shown


def _country_code(value: str) -> tuple[str, str]:
    """The country code the value starts with (``+1``, ``(+86)``, ``0044``) and the rest."""
    match = _PLUS_CODE.match(value)
    if not match:
        return "", value
    digits = "".join(ch for ch in match[1] + match[2] if ch.isdigit())
    written_apart = not match[2][:1].isdigit() or len(match[1]) < 3
    if written_apart and match[2]:  # "(+1)555...", "+44 20...": the code as written
        return match[1], match[2]
    for size in (1, 2, 3):  # "+8613800138000": the prefix-free table decides
        code = digits[:size]
        if size == 3 or code in (_CC1 if size == 1 else _CC2):
            return code, digits[size:]
    return "", value  # pragma: no cover - the loop always returns


def _phone(value: str) -> str:
    code, rest = _country_code(value)
    digits = "".join(ch for ch in rest if ch.isdigit())
    if len(digits) < _MIN_PHONE_DIGITS:
        return MASK
    shown = f"***-***-{digits[-4:]}"
    return f"+{code} {shown}" if code else shown


def _email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in domain):
        return MASK
    return f"{local[0]}{MASK}@{domain.lower()}"


def _is_cjk(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def _name(value: str) -> str:
    text = value.strip()
    first = text.split()[0]
    size = 1 if _is_cjk(first[0]) else 2
    shown = first[:size]
    if len(shown) >= len(text):  # a name of one or two letters: showing them shows it all
        shown = shown[: len(text) - 1]
    return f"{shown}**"


def _address(value: str) -> str:
    try:
        data = json.loads(value)
    except ValueError:
        return MASK
    if not isinstance(data, dict):
        return MASK
    parts = [data.get(key) for key in ("city", "region", "region_code", "country")]
    shown = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
    return ", ".join(dict.fromkeys(shown)) or MASK


_MASKERS = {"name": _name, "phone": _phone, "email": _email, "address": _address}


def mask(kind: str, value: object) -> str:
    """``value`` (a personal field of kind ``name``, ``phone``, ``email`` or ``address``) as
    people who have not revealed it see it; "" for an empty value, ``***`` for an unknown kind
    or a value of no recognisable shape."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.strip():
        return ""
    masker = _MASKERS.get(kind)
    if masker is None:
        return MASK
    try:
        shown = masker(text)
    except Exception:  # total: a masking bug shows nothing rather than the value or a 500
        return MASK
    return MASK if shown == text else shown
