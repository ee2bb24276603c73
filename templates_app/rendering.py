"""A small, sandboxed renderer for quick-reply bodies (pure Python, no Django).

The only syntax is ``{{ name }}`` and ``{{ name | default:"text" }}``. There is no attribute
access, no other filter, no code: a template body is data written by sellers, so it must never
reach the Django or Jinja template language. Values are inserted verbatim in one pass, so a value
that itself contains ``{{ ... }}`` is never rendered again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def gettext_noop(text: str) -> str:
    """Marks a text for the translation catalogue (``makemessages`` looks for this name) without
    importing Django: the pages translate the catalogue's descriptions when they show them."""
    return text


# Variables the inbox fills from the conversation (name -> what it is), in picker order.
CATALOGUE: dict[str, str] = {
    "buyer_name": gettext_noop("The buyer's display name"),
    "shop_name": gettext_noop("The shop account's name"),
    "order_id": gettext_noop(
        "The order id last shared in the chat (order card or 'came from order')"
    ),
    "product_id": gettext_noop(
        "The product id last shared in the chat (product card or 'came from product')"
    ),
    "product_name": gettext_noop("The product name, when the product card carries one"),
    "tracking_number": gettext_noop("The tracking number, when a message of the chat carries one"),
    "agent_name": gettext_noop("The name of the agent sending the reply"),
    "shop_date": gettext_noop("Today's date in the shop's time zone (YYYY-MM-DD)"),
}

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$")
_PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_INNER_RE = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*
        (?:\|\s*default\s*:\s*"(?P<default>(?:[^"\\]|\\.)*)"\s*)?$""",
    re.VERBOSE | re.DOTALL,
)
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
# CJK unified ideographs (with extension A) and CJK punctuation/full-width forms.
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f]")
_LETTER_RE = re.compile(r"[A-Za-z]")


class TemplateSyntaxError(ValueError):
    """A body that does not parse: details say which placeholders are wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Placeholder:
    start: int
    end: int
    name: str
    default: str | None


@dataclass(frozen=True)
class ParsedBody:
    text: str
    placeholders: tuple[Placeholder, ...]

    @property
    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.placeholders:
            seen.setdefault(p.name, None)
        return list(seen)


@dataclass
class RenderOutcome:
    text: str | None
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.text is not None


def parse(body: str) -> ParsedBody:
    """Split a body into literal text and placeholders; raise TemplateSyntaxError if malformed."""
    problems: list[str] = []
    placeholders: list[Placeholder] = []
    for m in _PLACEHOLDER_RE.finditer(body):
        inner = _INNER_RE.match(m.group(1))
        if inner is None:
            problems.append(f"invalid placeholder {m.group(0)[:60]!r}")
            continue
        default = inner.group("default")
        if default is not None:
            default = _UNESCAPE_RE.sub(r"\1", default)
        placeholders.append(Placeholder(m.start(), m.end(), inner.group("name"), default))
    # A "{{" or "}}" left over outside a placeholder is a typo the buyer would see.
    rest = _PLACEHOLDER_RE.sub("", body)
    if "{{" in rest or "}}" in rest:
        problems.append("unbalanced '{{' or '}}'")
    if problems:
        raise TemplateSyntaxError(problems)
    return ParsedBody(body, tuple(placeholders))


def names_in(bodies: Iterable[str]) -> list[str]:
    """The variable names of some bodies, in order of first use; a body that does not parse
    (only if edited outside the services) adds none."""
    names: dict[str, None] = {}
    for text in bodies:
        try:
            names.update(dict.fromkeys(parse(text).names))
        except TemplateSyntaxError:
            continue
    return list(names)


def unknown_names(parsed: ParsedBody, custom_fields: Iterable[str]) -> list[str]:
    """Placeholder names that are neither in the catalogue nor declared custom fields."""
    allowed = set(CATALOGUE) | set(custom_fields)
    return [n for n in parsed.names if n not in allowed]


def render(
    parsed: ParsedBody, values: Mapping[str, str | None], custom_fields: Iterable[str] = ()
) -> RenderOutcome:
    """Fill the placeholders from ``values``; missing or unknown names make it fail (no text).

    A value that is None or blank counts as missing unless the placeholder has a default.
    """
    unknown = unknown_names(parsed, custom_fields)
    if unknown:
        return RenderOutcome(None, unknown=unknown)
    out: list[str] = []
    missing: dict[str, None] = {}
    pos = 0
    text = parsed.text
    for p in parsed.placeholders:
        out.append(text[pos : p.start])
        value = values.get(p.name)
        if value is None or not str(value).strip():
            if p.default is None:
                missing.setdefault(p.name, None)
                value = ""
            else:
                value = p.default
        out.append(str(value))
        pos = p.end
    out.append(text[pos:])
    if missing:
        return RenderOutcome(None, missing=list(missing))
    return RenderOutcome("".join(out))


def detect_language(texts: Iterable[str]) -> str | None:
    """The buyer's language from their recent text: CJK characters mean zh-hans, else en.

    None when there is no text with letters to judge by.
    """
    seen_letters = False
    for t in texts:
        if _CJK_RE.search(t):
            return "zh-hans"
        if not seen_letters and _LETTER_RE.search(t):
            seen_letters = True
    return "en" if seen_letters else None


def pick_language(
    available: Iterable[str], default: str, requested: str | None, detected: str | None
) -> str | None:
    """The body language to use: the requested one (None if unavailable), else the detected
    buyer language if the template has it, else the template's default."""
    langs = set(available)
    if requested:
        return requested if requested in langs else None
    if detected and detected in langs:
        return detected
    if detected and "-" not in detected:
        # "zh" detected while the template offers "zh-hans": take the first regional version.
        for lang in sorted(langs):
            if lang.split("-")[0] == detected:
                return lang
    return default
