"""Per-agent behaviour over a period, for supervisors: replies an hour while active, median
first-reply time, violations per reply, reveals of personal data and off-hours activity, each
compared with the team (``stats``: median and MAD).

Every figure comes from a handful of aggregate queries for the whole organisation (never one
query per agent): the audit log grouped by (person, shop, hour), violations grouped by person,
first-reply deadlines with the author of the reply that closed them, and the shops' calendars.

"Active hours" are the clock hours in which the person did anything in the log; an hour of the
log is "off hours" for a shop when its middle falls outside the shop's working hours (its SLA
business calendar, in the shop's time zone; holidays are off). An action concerning no shop
(a sign-in) is off hours when no shop of the organisation was working then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from inbox.models import Member, Message, Role
from inbox.selectors.accounts import AnyUser, shop_account_list
from monitoring.audit_log.actions import PASSIVE_ACTIONS, REPLY_ACTIONS, REVEAL_ACTIONS
from monitoring.audit_log.selectors import audit_viewer
from monitoring.audit_log.stats import Rule, Spread, outliers
from monitoring.models import AuditEvent, Violation
from monitoring.models.sla import BusinessCalendar, Deadline, DeadlineKind, Holiday
from monitoring.sla.calendar import (
    CalendarSpec,
    default_calendar,
    time_zone_or_utc,
    working_hours_parse,
)

MIN_REPLIES = 20  # fewer replies in the period: shown, never compared
MIN_ACTIONS = 20
MAX_DAYS = 92

RULES: dict[str, Rule] = {
    "replies_per_hour": Rule(higher_is_worse=None, floor=0.5),
    "first_reply_minutes": Rule(higher_is_worse=True, floor=2.0),
    "violation_rate": Rule(higher_is_worse=True, floor=0.02),
    "reveals": Rule(higher_is_worse=True, floor=2.0),
    "off_hours_share": Rule(higher_is_worse=True, floor=0.05),
}
VOLUME = {  # which count makes a figure comparable
    "replies_per_hour": "replies",
    "first_reply_minutes": "first_replies",
    "violation_rate": "replies",
    "reveals": "actions",
    "off_hours_share": "actions",
}


@dataclass
class AgentFigures:
    user_id: int
    name: str
    role: str
    actions: int = 0
    replies: int = 0
    active_hours: int = 0
    reveals: int = 0
    off_hours: int = 0
    violations: int = 0
    first_replies: int = 0
    first_reply_minutes: float | None = None
    daily_replies: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def replies_per_hour(self) -> float | None:
        return self.replies / self.active_hours if self.active_hours else None

    @property
    def violation_rate(self) -> float | None:
        return self.violations / self.replies if self.replies else None

    @property
    def off_hours_share(self) -> float | None:
        return self.off_hours / self.actions if self.actions else None

    def figure(self, name: str) -> float | None:
        value = getattr(self, name)
        return float(value) if value is not None else None

    def eligible(self, name: str) -> bool:
        needed = MIN_REPLIES if VOLUME[name] in ("replies", "first_replies") else MIN_ACTIONS
        return int(getattr(self, VOLUME[name])) >= needed


@dataclass
class BehaviourReport:
    since: datetime
    until: datetime
    days: list[datetime]
    agents: list[AgentFigures]
    team: dict[str, Spread | None]


def behaviour_report(user: AnyUser, *, since: datetime, until: datetime) -> BehaviourReport:
    """The organisation's people's figures over [since, until), outliers flagged.

    Keeps: supervisors and admins only (NotFound otherwise); a constant number of queries
    whatever the number of people; at most ``MAX_DAYS`` days."""
    member = audit_viewer(user)
    org_id = member.organisation_id
    until = min(until, since + timedelta(days=MAX_DAYS))
    people = _people(org_id)
    zone = timezone.get_current_timezone()
    days = _days(since, until, zone)
    calendars = _calendars(user)
    _activity(people, org_id, since, until, calendars, days, zone)
    _violations(people, org_id, since, until)
    _first_replies(people, org_id, since, until)
    team: dict[str, Spread | None] = {}
    for name, rule in RULES.items():
        eligible = {a.user_id for a in people.values() if a.eligible(name)}
        values = {a.user_id: a.figure(name) for a in people.values()}
        team[name], flagged = outliers(values, eligible, rule)
        for user_id in flagged:
            people[user_id].flags.append(name)
    agents = sorted(
        (a for a in people.values() if a.actions or a.role == Role.AGENT),
        key=lambda a: (-len(a.flags), a.name.casefold()),
    )
    return BehaviourReport(since=since, until=until, days=days, agents=agents, team=team)


def _people(org_id: int) -> dict[int, AgentFigures]:
    rows = Member.objects.filter(organisation_id=org_id).values_list(
        "user_id", "display_name", "user__username", "role"
    )
    return {uid: AgentFigures(uid, shown or login, role) for uid, shown, login, role in rows}


def _days(since: datetime, until: datetime, zone: Any) -> list[datetime]:
    first = since.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[datetime] = []
    day = first
    while day < until and len(out) < MAX_DAYS + 1:
        out.append(day)
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)  # safe across DST changes
    return out


def _calendars(user: AnyUser) -> dict[int, CalendarSpec]:
    """Every shop's calendar in three queries (shops, calendars, holidays)."""
    shops = dict(shop_account_list(user).values_list("id", "time_zone"))
    stored = dict(
        BusinessCalendar.objects.filter(shop_account_id__in=shops).values_list(
            "shop_account_id", "working_hours"
        )
    )
    holidays: dict[int, set[Any]] = defaultdict(set)
    for shop_id, day in Holiday.objects.filter(calendar__shop_account_id__in=shops).values_list(
        "calendar__shop_account_id", "date"
    ):
        holidays[shop_id].add(day)
    out = {}
    for shop_id, zone in shops.items():
        spec = default_calendar(time_zone_or_utc(zone or "UTC"))
        try:
            week = working_hours_parse(stored[shop_id], allow_empty_week=True)
        except (KeyError, ValidationError):
            week = spec.working_hours
        out[shop_id] = CalendarSpec(spec.time_zone, week, frozenset(holidays[shop_id]))
    return out


def working_at(moment: datetime, calendar: CalendarSpec) -> bool:
    """Whether ``moment`` falls in the calendar's working hours (local time, holidays off)."""
    local = moment.astimezone(calendar.tz)
    if local.date() in calendar.holidays:
        return False
    clock = local.time()
    for start, end in calendar.working_hours[local.weekday()]:
        if start <= clock and ((end.hour == 0 and end.minute == 0) or clock < end):
            return True
    return False


def _activity(
    people: dict[int, AgentFigures],
    org_id: int,
    since: datetime,
    until: datetime,
    calendars: dict[int, CalendarSpec],
    days: list[datetime],
    zone: Any,
) -> None:
    """Actions, replies, reveals, active and off hours from one grouped query of the log."""
    rows = (
        AuditEvent.objects.filter(
            organisation_id=org_id,
            created_at__gte=since,
            created_at__lt=until,
            actor_id__isnull=False,
        )
        .exclude(action__in=PASSIVE_ACTIONS)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("actor_id", "shop_account_id", "hour")
        .annotate(
            n=Count("id"),
            replies=Count("id", filter=Q(action__in=REPLY_ACTIONS)),
            reveals=Count("id", filter=Q(action__in=REVEAL_ACTIONS)),
        )
    )
    hours: dict[int, set[datetime]] = defaultdict(set)
    day_index = {day.date(): i for i, day in enumerate(days)}
    for figures in people.values():
        figures.daily_replies = [0] * len(days)
    for row in rows:
        person = people.get(row["actor_id"])
        if person is None:  # no longer a member: their rows stay in the log, not in the figures
            continue
        hour = row["hour"] if timezone.is_aware(row["hour"]) else row["hour"].replace(tzinfo=UTC)
        person.actions += row["n"]
        person.replies += row["replies"]
        person.reveals += row["reveals"]
        hours[person.user_id].add(hour)
        if _off_hours(hour + timedelta(minutes=30), row["shop_account_id"], calendars):
            person.off_hours += row["n"]
        slot = day_index.get(hour.astimezone(zone).date())
        if slot is not None:
            person.daily_replies[slot] += row["replies"]
    for user_id, seen in hours.items():
        people[user_id].active_hours = len(seen)


def _off_hours(moment: datetime, shop_id: int | None, calendars: dict[int, CalendarSpec]) -> bool:
    if shop_id is not None and shop_id in calendars:
        return not working_at(moment, calendars[shop_id])
    return bool(calendars) and not any(working_at(moment, c) for c in calendars.values())


def _violations(
    people: dict[int, AgentFigures], org_id: int, since: datetime, until: datetime
) -> None:
    rows = (
        Violation.objects.filter(
            organisation_id=org_id, created_at__gte=since, created_at__lt=until
        )
        .exclude(actor_id=None)
        .values("actor_id")
        .annotate(n=Count("id"))
    )
    for row in rows:
        if row["actor_id"] in people:
            people[row["actor_id"]].violations = row["n"]


def _first_replies(
    people: dict[int, AgentFigures], org_id: int, since: datetime, until: datetime
) -> None:
    """First-reply deadlines answered in the period, each credited to the author of the first
    reply sent on the conversation from the buyer's message on: one query, medians here."""
    author = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            direction="out",
            author_id__isnull=False,
            sent_at__gte=OuterRef("started_at"),
        )
        .order_by("sent_at", "id")
        .values("author_id")[:1]
    )
    rows = (
        Deadline.objects.filter(
            organisation_id=org_id,
            kind=DeadlineKind.FIRST_REPLY,
            closed_at__gte=since,
            closed_at__lt=until,
            state__in=["met", "missed"],
        )
        .annotate(author_id=Subquery(author), waited=F("closed_at") - F("started_at"))
        .values_list("author_id", "waited")
    )
    waits: dict[int, list[float]] = defaultdict(list)
    for author_id, waited in rows:
        if author_id in people and waited is not None:
            waits[author_id].append(max(waited.total_seconds(), 0) / 60)
    for user_id, minutes in waits.items():
        people[user_id].first_replies = len(minutes)
        people[user_id].first_reply_minutes = median(minutes)
