"""What is at risk now and what breached today, per shop and per agent: the supervisors' view
(``/sla/risk/``).

"At risk now": open deadlines in their warning window (their first warning threshold has
passed: ``due_at - max(warnings) <= now``) or already past their due time. "Breached today":
deadlines whose due time fell today in their shop's local day (from the shop's midnight to
now) and that were not answered in time: still open, or closed after the due time (missed, or
ended unanswered). Both read through the ``deadline_shop_open`` and ``deadline_shop_due``
indexes, one query each, whatever the number of shops and agents.

Whose: a conversation's assignee; a case's, its conversation's assignee (cases have no
assignee of their own); None: nobody holds it (shown as "Unassigned").
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from inbox.selectors.accounts import AnyUser, member_for, shop_account_list
from inbox.selectors.for_apps import acting_member, member_names
from monitoring.models.sla import (
    DEFAULT_WARNING_MINUTES,
    Deadline,
    DeadlineKind,
    DeadlineState,
    SlaPolicy,
)
from scrm.api import NotFound

# Rows shown per shop or agent in each list (the counts are always whole).
ROWS_PER_GROUP = 20
# At most this many deadlines read per list: beyond it the counts say "at least".
READ_LIMIT = 2000

_FIELDS = (
    "id",
    "kind",
    "shop_account_id",
    "conversation_id",
    "case_id",
    "started_at",
    "due_at",
    "closed_at",
    "state",
    "rule",
    "conversation__assignee_id",
    "case__conversation__assignee_id",
    "case__platform_case_id",
)


@dataclass(frozen=True)
class RiskItem:
    """One deadline as the view shows it (ids, kinds and times: no buyer data)."""

    id: int
    kind: str
    kind_label: str
    subject: str  # "conversation" | "case"
    subject_id: int
    subject_label: str  # the case's platform id, or the conversation's id
    url: str
    shop_id: int
    shop_name: str
    shop_time_zone: str
    assignee_id: int | None
    assignee_name: str
    started_at: datetime
    due_at: datetime
    closed_at: datetime | None
    state: str  # the deadline's: open, missed, ended
    breached: bool  # past its due time (now, or when it closed)


@dataclass
class RiskGroup:
    """One shop's or one agent's part of the view."""

    key: int | None  # the shop's id, or the agent's user id (None: unassigned)
    name: str
    at_risk: list[RiskItem] = field(default_factory=list)
    breached_today: list[RiskItem] = field(default_factory=list)
    at_risk_count: int = 0
    breached_count: int = 0
    overdue_count: int = 0  # of at_risk, those past their due time


@dataclass
class RiskOverview:
    now: datetime
    viewer_time_zone: str
    shops: list[RiskGroup]
    agents: list[RiskGroup]
    totals: dict[str, int]
    truncated: bool  # a list hit READ_LIMIT: the counts are lower bounds


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _local_midnight(now: datetime, tz_name: str) -> datetime:
    local = now.astimezone(_zone(tz_name))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # A midnight skipped by a DST change is normalised by the round trip through UTC.
    return midnight.astimezone(zoneinfo.ZoneInfo("UTC"))


def _policy_windows(organisation_id: int) -> tuple[int | None, dict[int, int]]:
    """The widest warning (minutes) of the organisation's policy and of each shop's own (one
    query): what a deadline whose rule records no warnings goes by, as the sweep does."""
    org: int | None = None
    shops: dict[int, int] = {}
    rows = SlaPolicy.objects.filter(organisation_id=organisation_id).values_list(
        "shop_account_id", "warning_minutes"
    )
    for shop_id, minutes in rows:
        widest = _widest(minutes)
        if shop_id is None:
            org = widest
        else:
            shops[shop_id] = widest
    return org, shops


def _widest(minutes: Any) -> int:
    values = (
        [m for m in minutes if isinstance(m, int) and m >= 0] if isinstance(minutes, list) else []
    )
    return max(values, default=0)


def _warning_window(rule: Any, fallback: int) -> int:
    """A deadline's widest warning (its rule's, as computed when it opened), else
    ``fallback`` (its shop's policy, the organisation's, the default)."""
    warnings = rule.get("warnings") if isinstance(rule, dict) else None
    return _widest(warnings) if isinstance(warnings, list) else fallback


def _item(
    row: dict[str, Any], shops: dict[int, tuple[str, str]], names: dict[int, str], now: datetime
) -> RiskItem:
    is_case = row["case_id"] is not None
    assignee = (
        row["case__conversation__assignee_id"] if is_case else row["conversation__assignee_id"]
    )
    shop_name, shop_tz = shops[row["shop_account_id"]]
    ended = row["closed_at"] or now
    if is_case:
        url = reverse("panel:case", args=[row["case_id"]])
    else:
        url = reverse("inbox:conversation", args=[row["conversation_id"]])
    return RiskItem(
        id=row["id"],
        kind=row["kind"],
        kind_label=str(DeadlineKind(row["kind"]).label)
        if row["kind"] in DeadlineKind.values
        else row["kind"],
        subject="case" if is_case else "conversation",
        subject_id=row["case_id"] if is_case else row["conversation_id"],
        subject_label=(row["case__platform_case_id"] or str(row["case_id"]))
        if is_case
        else str(row["conversation_id"]),
        url=url,
        shop_id=row["shop_account_id"],
        shop_name=shop_name,
        shop_time_zone=shop_tz,
        assignee_id=assignee,
        assignee_name=names.get(assignee, "") if assignee is not None else "",
        started_at=row["started_at"],
        due_at=row["due_at"],
        closed_at=row["closed_at"],
        state=row["state"],
        breached=ended > row["due_at"],
    )


def _at_risk_rows(shop_ids: list[int], now: datetime, organisation_id: int) -> list[dict[str, Any]]:
    """Open deadlines of the shops due within the widest warning window (or overdue), each
    then kept only inside its own window; oldest due first."""
    org, per_shop = _policy_windows(organisation_id)
    default = org if org is not None else max(DEFAULT_WARNING_MINUTES)
    widest = max([default, max(DEFAULT_WARNING_MINUTES), *per_shop.values()])
    rows = list(
        Deadline.objects.filter(
            shop_account_id__in=shop_ids,
            state=DeadlineState.OPEN,
            due_at__lte=now + timedelta(minutes=widest),
        )
        .order_by("due_at", "id")
        .values(*_FIELDS)[:READ_LIMIT]
    )

    def window(row: dict[str, Any]) -> int:
        return _warning_window(row["rule"], per_shop.get(row["shop_account_id"], default))

    return [r for r in rows if r["due_at"] - timedelta(minutes=window(r)) <= now]


def _breached_today_rows(shops: dict[int, tuple[str, str]], now: datetime) -> list[dict[str, Any]]:
    """Deadlines due between their shop's local midnight and now that were not answered by
    then: still open, or closed after their due time. One query (the shops grouped by time
    zone)."""
    by_zone: dict[str, list[int]] = defaultdict(list)
    for shop_id, (_name, tz_name) in shops.items():
        by_zone[tz_name].append(shop_id)
    if not by_zone:
        return []
    day = Q()
    for tz_name, ids in by_zone.items():
        day |= Q(shop_account_id__in=ids, due_at__gte=_local_midnight(now, tz_name))
    late = Q(state=DeadlineState.OPEN) | Q(closed_at__gt=F("due_at"))
    return list(
        Deadline.objects.filter(day, late, due_at__lte=now)
        .order_by("due_at", "id")
        .values(*_FIELDS)[:READ_LIMIT]
    )


def _group(
    items: Iterable[RiskItem], breached: Iterable[RiskItem], key_of: Any
) -> dict[Any, RiskGroup]:
    groups: dict[Any, RiskGroup] = {}
    for item in items:
        g = groups.setdefault(key_of(item), RiskGroup(key=key_of(item), name=""))
        g.at_risk_count += 1
        g.overdue_count += int(item.breached)
        if len(g.at_risk) < ROWS_PER_GROUP:
            g.at_risk.append(item)
    for item in breached:
        g = groups.setdefault(key_of(item), RiskGroup(key=key_of(item), name=""))
        g.breached_count += 1
        if len(g.breached_today) < ROWS_PER_GROUP:
            g.breached_today.append(item)
    return groups


def sla_risk_overview(user: AnyUser, *, now: datetime | None = None) -> RiskOverview:
    """At risk now and breached today over every shop of the viewer's organisation, per shop
    and per agent, oldest due first.

    Keeps: supervisors and admins only (an agent gets NotFound, as for any page outside their
    reach); nothing of another organisation; "today" is each shop's own local day; a fixed
    number of queries whatever the number of shops, agents and deadlines.
    """
    now = now or timezone.now()
    member = member_for(user)
    if not member.sees_all_shops:
        raise NotFound("Page not found.")
    actor = acting_member(user)
    shops = {
        sid: (name, tz_name)
        for sid, name, tz_name in shop_account_list(user).values_list("id", "name", "time_zone")
    }
    at_risk_rows = _at_risk_rows(list(shops), now, member.organisation_id)
    breached_rows = _breached_today_rows(shops, now)
    assignees = {
        r["case__conversation__assignee_id"] if r["case_id"] else r["conversation__assignee_id"]
        for r in (*at_risk_rows, *breached_rows)
    }
    names = member_names(actor, {a for a in assignees if a is not None}) if assignees else {}
    at_risk = [_item(r, shops, names, now) for r in at_risk_rows]
    breached = [_item(r, shops, names, now) for r in breached_rows]

    per_shop = _group(at_risk, breached, lambda i: i.shop_id)
    shop_groups = []
    for sid, (name, _tz) in shops.items():
        g = per_shop.get(sid) or RiskGroup(key=sid, name=name)
        g.name = name
        shop_groups.append(g)
    per_agent = _group(at_risk, breached, lambda i: i.assignee_id)
    agent_groups = sorted(
        per_agent.values(),
        key=lambda g: (
            g.key is None,
            -(g.at_risk_count + g.breached_count),
            names.get(g.key or 0, ""),
        ),
    )
    for g in agent_groups:
        g.name = names.get(g.key, "") if g.key is not None else ""
    return RiskOverview(
        now=now,
        viewer_time_zone=member.time_zone,
        shops=shop_groups,
        agents=agent_groups,
        totals={
            "at_risk": len(at_risk),
            "overdue": sum(1 for i in at_risk if i.breached),
            "breached_today": len(breached),
        },
        truncated=len(at_risk_rows) >= READ_LIMIT or len(breached_rows) >= READ_LIMIT,
    )
