"""Reads of the sensitive-word monitor's results, scoped to the acting user: the supervisors'
violation review queue (``/monitoring/violations/``, ``/api/v1/monitoring/violations/``) and a
conversation's buyer risk tags (the conversation header's chips).

Violations exist only for the supervisors and admins of their organisation: anyone else, and a
violation of another organisation, gets NotFound (the 404 page), as the SLA settings do. The
screened text is decrypted only here, for those people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet

from inbox.models import Member
from inbox.selectors.accounts import AnyUser, member_for
from monitoring.models import BuyerRisk, RiskTag, Violation, ViolationStatus, WordCategory
from scrm.api import NotFound

MAX_ID = 2**31 - 1
# Filter values a page or API call may pass; anything else is refused (a 400) or ignored.
STATUSES = tuple(ViolationStatus.values)
CATEGORIES = tuple(WordCategory.values)


def violation_reviewer(user: AnyUser) -> Member:
    """The acting member when a supervisor or admin; NotFound for everyone else (violations do
    not exist for agents)."""
    member = member_for(user)
    if not member.sees_all_shops:
        raise NotFound("Page not found.")
    return member


@dataclass(frozen=True)
class ViolationFilters:
    """The queue's filters; empty or None: any. ``status`` defaults to the open ones."""

    status: str = ViolationStatus.OPEN
    actor_id: int | None = None
    category: str = ""
    shop_account_id: int | None = None
    since: datetime | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> ViolationFilters:
        """From query parameters (``status``, ``agent``, ``category``, ``shop``); a value
        out of range is as if absent (the page shows everything rather than failing), except
        ``status=all``, which lifts the default."""
        status = str(params.get("status") or ViolationStatus.OPEN)
        if status not in (*STATUSES, "all"):
            status = ViolationStatus.OPEN
        category = str(params.get("category") or "")
        return cls(
            status="" if status == "all" else status,
            actor_id=_id(params.get("agent")),
            category=category if category in CATEGORIES else "",
            shop_account_id=_id(params.get("shop")),
        )


def _id(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def violation_list(user: AnyUser, filters: ViolationFilters | None = None) -> QuerySet[Violation]:
    """The organisation's violations matching ``filters``, newest first, with their shop,
    conversation and people joined (one query for a page)."""
    member = violation_reviewer(user)
    f = filters or ViolationFilters()
    qs = Violation.objects.filter(organisation_id=member.organisation_id)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.actor_id:
        qs = qs.filter(actor_id=f.actor_id)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.shop_account_id:
        qs = qs.filter(shop_account_id=f.shop_account_id)
    if f.since:
        qs = qs.filter(created_at__gte=f.since)
    return qs.select_related("shop_account", "reviewed_by").order_by("-created_at", "-id")


def violation_get(user: AnyUser, violation_id: int) -> Violation:
    """One violation of the reviewer's organisation, or NotFound."""
    if not 1 <= violation_id <= MAX_ID:
        raise NotFound("Violation not found.")
    member = violation_reviewer(user)
    found = (
        Violation.objects.filter(id=violation_id, organisation_id=member.organisation_id)
        .select_related("shop_account", "reviewed_by")
        .first()
    )
    if found is None:
        raise NotFound("Violation not found.")
    return found


@dataclass(frozen=True)
class Tally:
    key: Any  # an actor id (None: a send by nobody known) or a category value
    name: str
    count: int


def violation_counts(queryset: QuerySet[Violation]) -> tuple[list[Tally], list[Tally]]:
    """Per agent and per category, most first: the counts atop the queue (two queries)."""
    per_actor = (
        queryset.order_by().values("actor_id", "actor_name").annotate(n=Count("id")).order_by("-n")
    )
    agents: dict[Any, Tally] = {}
    for row in per_actor:  # one name per agent (a renamed agent's older rows keep the old one)
        key = row["actor_id"]
        seen = agents.get(key)
        count = row["n"] + (seen.count if seen else 0)
        agents[key] = Tally(key, seen.name if seen else row["actor_name"], count)
    per_category = queryset.order_by().values("category").annotate(n=Count("id")).order_by("-n")
    labels = dict(WordCategory.choices)
    categories = [
        Tally(r["category"], str(labels.get(r["category"], r["category"])), r["n"])
        for r in per_category
    ]
    return sorted(agents.values(), key=lambda t: -t.count), categories


@dataclass(frozen=True)
class Segment:
    """A piece of the screened text: matched (with its category and action) or not."""

    text: str
    category: str = ""
    action: str = ""

    @property
    def matched(self) -> bool:
        return bool(self.category)


def violation_segments(violation: Violation) -> list[Segment]:
    """The violation's text cut at its matches (offsets in the original text; overlapping or
    out-of-range matches are clipped, so a bad row shows its text rather than failing)."""
    text = violation.text or ""
    segments: list[Segment] = []
    at = 0
    for m in sorted(_matches(violation), key=lambda m: (m["start"], -m["end"])):
        start, end = max(m["start"], at), min(m["end"], len(text))
        if end <= start:
            continue
        if start > at:
            segments.append(Segment(text[at:start]))
        segments.append(Segment(text[start:end], m["category"] or "custom", m["action"]))
        at = end
    if at < len(text):
        segments.append(Segment(text[at:]))
    return segments


def _matches(violation: Violation) -> list[dict[str, Any]]:
    found = []
    for m in violation.matches or []:
        if (
            isinstance(m, dict)
            and isinstance(m.get("start"), int)
            and isinstance(m.get("end"), int)
        ):
            found.append(
                {
                    "start": m["start"],
                    "end": m["end"],
                    "category": str(m.get("category") or ""),
                    "action": str(m.get("action") or ""),
                    "word": str(m.get("word") or ""),
                }
            )
    return found


def allow_phrase_proposal(violation: Violation) -> str:
    """The phrase a dismissal proposes for the allow-list: the first list word's match widened
    to the whitespace-delimited words around it (so "wechat pay" is allowed, not every
    "wechat"); Chinese text, with no spaces, widens by two characters on each side. Detector
    matches (a phone number) propose nothing: an allow phrase would hide that number only."""
    text = violation.text or ""
    for m in sorted(_matches(violation), key=lambda m: m["start"]):
        if not m["word"] or not 0 <= m["start"] < m["end"] <= len(text):
            continue
        start, end = m["start"], m["end"]
        if " " in text:
            while start > 0 and not text[start - 1].isspace():
                start -= 1
            while end < len(text) and not text[end].isspace():
                end += 1
            if (start, end) == (m["start"], m["end"]):  # a whole word: take the next one too
                nxt = end + 1
                while nxt < len(text) and not text[nxt].isspace():
                    nxt += 1
                end = nxt if end < len(text) else end
        else:
            start, end = max(0, start - 2), min(len(text), end + 2)
        return text[start:end].strip()[:200]
    return ""


def conversation_risk_tags(conversation_id: int) -> list[tuple[str, str]]:
    """The buyer risk tags of a conversation the caller already may see (value, label), in
    the tags' declared order; one query on the (conversation, tag) index."""
    found = set(
        BuyerRisk.objects.filter(conversation_id=conversation_id)
        .values_list("tag", flat=True)
        .distinct()
    )
    return [(value, str(label)) for value, label in RiskTag.choices if value in found]


def agent_choices(user: AnyUser) -> list[tuple[int, str]]:
    """The people who raised a violation in the reviewer's organisation (the agent filter)."""
    member = violation_reviewer(user)
    rows = (
        Violation.objects.filter(organisation_id=member.organisation_id, actor_id__isnull=False)
        .order_by()
        .values_list("actor_id", "actor_name")
        .distinct()
    )
    names: dict[int, str] = {}
    for actor_id, name in rows:
        names.setdefault(actor_id, name)
    return sorted(names.items(), key=lambda kv: kv[1].lower())
