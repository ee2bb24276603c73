"""Checks a quick reply's fields before any write (create, update and every import row)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from templates_app import rendering
from templates_app.models import Scope

SHORTCUT_RE = re.compile(r"^[\w-]{1,40}$")
MAX_BODY = 4000  # TikTok Shop's text message limit is well above what a quick reply needs


@dataclass
class QuickReplyData:
    """A quick reply's editable fields, cleaned."""

    title: str
    shortcut: str
    body: str
    scope: str
    category: str = ""
    default_language: str = "en"
    translations: dict[str, str] = field(default_factory=dict)
    custom_fields: list[str] = field(default_factory=list)
    shop_account_ids: list[int] = field(default_factory=list)
    material_ids: list[int] = field(default_factory=list)


class QuickReplyInvalid(Exception):
    """Field problems (``code`` tells whether it is the variables, the syntax or other)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def clean(raw: dict[str, Any]) -> QuickReplyData:
    """Normalise and check one quick reply; raise QuickReplyInvalid with every problem found.

    Keeps: every body parses, and names only catalogue variables or declared custom fields.
    """
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    title = _str(raw.get("title"))
    if not title or len(title) > 120:
        bad("title", gettext_noop("Required, at most 120 characters."))
    shortcut = _str(raw.get("shortcut")).lstrip("/").lower()
    if not SHORTCUT_RE.match(shortcut):
        bad("shortcut", gettext_noop("Required: letters, digits, '_' or '-', at most 40."))
    category = _str(raw.get("category"))
    if len(category) > 60:
        bad("category", gettext_noop("At most 60 characters."))
    scope = _str(raw.get("scope")) or Scope.PERSONAL
    if scope not in Scope.values:
        bad("scope", f"One of {', '.join(Scope.values)}.")
    default_language = (_str(raw.get("default_language")) or "en").lower()
    if not rendering.LANGUAGE_RE.match(default_language):
        bad("default_language", gettext_noop("A language code such as en or zh-hans."))
    raw_body = raw.get("body")
    body: str = raw_body if isinstance(raw_body, str) else ""
    if not body.strip() or len(body) > MAX_BODY:
        bad("body", f"Required, at most {MAX_BODY} characters.")

    translations: dict[str, str] = {}
    raw_tr = raw.get("translations") or {}
    if not isinstance(raw_tr, dict):
        bad("translations", gettext_noop("An object mapping language codes to bodies."))
        raw_tr = {}
    for lang, text in raw_tr.items():
        code = str(lang).strip().lower()
        if not rendering.LANGUAGE_RE.match(code) or code == default_language:
            bad("translations", f"{lang!r}: a language code other than the default.")
        elif not isinstance(text, str) or not text.strip() or len(text) > MAX_BODY:
            bad("translations", f"{lang!r}: a body of at most {MAX_BODY} characters.")
        else:
            translations[code] = text

    custom_fields: list[str] = []
    raw_cf = raw.get("custom_fields") or []
    if not isinstance(raw_cf, list):
        bad("custom_fields", gettext_noop("A list of names."))
        raw_cf = []
    for name in raw_cf:
        name = _str(name).lower()
        if not rendering.NAME_RE.match(name):
            bad("custom_fields", f"{name!r}: lower-case letters, digits and '_'.")
        elif name in rendering.CATALOGUE:
            bad("custom_fields", f"{name!r} is a built-in variable.")
        elif name not in custom_fields:
            custom_fields.append(name)

    shop_ids = _int_list(raw.get("shop_account_ids"), "shop_account_ids", bad)
    material_ids = _int_list(raw.get("material_ids"), "material_ids", bad)
    if scope == Scope.TEAM and not shop_ids:
        bad("shop_account_ids", gettext_noop("A team quick reply needs at least one shop account."))
    if scope != Scope.TEAM and shop_ids:
        bad("shop_account_ids", gettext_noop("Only team quick replies have shop accounts."))
    if errors:
        raise QuickReplyInvalid("invalid", gettext_noop("The quick reply is not valid."), errors)

    _check_bodies({default_language: body, **translations}, custom_fields)
    return QuickReplyData(
        title=title,
        shortcut=shortcut,
        body=body,
        scope=scope,
        category=category,
        default_language=default_language,
        translations=translations,
        custom_fields=custom_fields,
        shop_account_ids=shop_ids,
        material_ids=material_ids,
    )


def _int_list(value: Any, name: str, bad: Any) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        bad(name, gettext_noop("A list of ids."))
        return []
    return sorted(set(value))


def _check_bodies(bodies: dict[str, str], custom_fields: list[str]) -> None:
    syntax: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for lang, text in bodies.items():
        try:
            parsed = rendering.parse(text)
        except rendering.TemplateSyntaxError as exc:
            syntax[lang] = exc.problems
            continue
        names = rendering.unknown_names(parsed, custom_fields)
        if names:
            unknown[lang] = names
    if syntax:
        raise QuickReplyInvalid(
            "template_syntax",
            gettext_noop("A body has a malformed placeholder."),
            {"problems": syntax},
        )
    if unknown:
        flat = sorted({n for names in unknown.values() for n in names})
        raise QuickReplyInvalid(
            "template_variables",
            "Unknown variables: " + ", ".join(flat) + ".",
            {"unknown": flat, "by_language": unknown, "catalogue": list(rendering.CATALOGUE)},
        )
