"""What the SLA settings pages show: the organisation's policy and which shops follow it, each
shop's working week and holidays, and the due-time preview. Supervisors and admins of the
organisation only (``sla_manager``: a 404 for everyone else)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dates import WEEKDAYS_ABBR

from inbox.selectors.accounts import AnyUser, shop_account_list
from monitoring.models import BusinessCalendar, DeadlineKind, Holiday, SlaPolicy
from monitoring.models.sla import default_working_hours
from monitoring.services.sla_settings import managed_shop, sla_manager

if TYPE_CHECKING:
    from inbox.models import ShopAccount


@dataclass(frozen=True)
class ShopPolicyRow:
    shop: ShopAccount
    override: SlaPolicy | None  # None: follows the organisation's policy


@dataclass(frozen=True)
class CalendarRow:
    shop: ShopAccount
    week: str  # "Mon–Fri 09:00–18:00"
    holidays: int
    customised: bool  # False: the default week (no calendar saved yet)


@dataclass(frozen=True)
class CalendarDetail:
    shop: ShopAccount
    working_hours: dict[str, list[list[str]]]
    holidays: list[Holiday]


@dataclass(frozen=True)
class PreviewRow:
    kind: str
    label: str
    due_at: datetime | None  # None: the policy turns the target off
    rule: dict[str, Any]


def organisation_policy(user: AnyUser) -> SlaPolicy:
    """The organisation's policy; an unsaved one with the defaults when none is saved yet."""
    member = sla_manager(user)
    policy = SlaPolicy.objects.filter(
        organisation_id=member.organisation_id, shop_account__isnull=True
    ).first()
    return policy or SlaPolicy(organisation_id=member.organisation_id)


def shop_policy_rows(user: AnyUser) -> list[ShopPolicyRow]:
    """Every shop of the organisation, by name, with its own policy if it has one."""
    member = sla_manager(user)
    overrides = {
        p.shop_account_id: p
        for p in SlaPolicy.objects.filter(
            organisation_id=member.organisation_id, shop_account__isnull=False
        )
    }
    return [ShopPolicyRow(shop, overrides.get(shop.pk)) for shop in shop_account_list(user)]


def shop_policy(user: AnyUser, shop_account_id: int) -> ShopPolicyRow:
    """One shop of the organisation (404 else) with its own policy, if any."""
    member = sla_manager(user)
    shop = managed_shop(user, shop_account_id)
    override = SlaPolicy.objects.filter(
        organisation_id=member.organisation_id, shop_account_id=shop.pk
    ).first()
    return ShopPolicyRow(shop, override)


def week_summary(working_hours: dict[str, list[list[str]]]) -> str:
    """A working week in a line: consecutive days with the same hours together, days off left
    out (``"Mon–Fri 09:00–12:00, 13:00–18:00 · Sat 10:00–14:00"``)."""
    groups: list[tuple[int, int, list[list[str]]]] = []
    for day in range(7):
        periods = working_hours.get(str(day)) or []
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == periods:
            groups[-1] = (groups[-1][0], day, periods)
        else:
            groups.append((day, day, periods))
    parts = []
    for first, last, periods in groups:
        if not periods:
            continue
        days = str(WEEKDAYS_ABBR[first])
        if last != first:
            days += "–" + str(WEEKDAYS_ABBR[last])
        parts.append(days + " " + ", ".join(f"{s}–{e}" for s, e in periods))
    return " · ".join(parts)


def calendar_rows(user: AnyUser) -> list[CalendarRow]:
    """Every shop of the organisation with its time zone, its week in a line and how many
    holidays it has. Three queries."""
    member = sla_manager(user)
    calendars = {
        c.shop_account_id: c
        for c in BusinessCalendar.objects.filter(organisation_id=member.organisation_id)
    }
    counts: dict[int, int] = {}
    for shop_id in Holiday.objects.filter(
        calendar__organisation_id=member.organisation_id
    ).values_list("calendar__shop_account_id", flat=True):
        counts[shop_id] = counts.get(shop_id, 0) + 1
    rows = []
    for shop in shop_account_list(user):
        calendar = calendars.get(shop.pk)
        hours = calendar.working_hours if calendar else default_working_hours()
        rows.append(CalendarRow(shop, week_summary(hours), counts.get(shop.pk, 0), bool(calendar)))
    return rows


def calendar_detail(user: AnyUser, shop_account_id: int) -> CalendarDetail:
    """One shop's (404 outside the organisation) week and holidays, the default week when it
    has no calendar saved yet."""
    shop = managed_shop(user, shop_account_id)
    calendar = BusinessCalendar.objects.filter(shop_account_id=shop.pk).first()
    if calendar is None:
        return CalendarDetail(shop, default_working_hours(), [])
    return CalendarDetail(shop, calendar.working_hours, list(calendar.holidays.all()))


def shop_zone(shop: ShopAccount) -> ZoneInfo:
    """The shop's time zone (UTC for a name this server does not know)."""
    try:
        return ZoneInfo(shop.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def due_preview_rows(user: AnyUser, shop_account_id: int, arrival: datetime) -> list[PreviewRow]:
    """When each kind of deadline of a request arriving at ``arrival`` would fall due under the
    shop's saved policy and calendar (``monitoring.sla.policies.due_preview``)."""
    from monitoring.sla.policies import due_preview

    shop = managed_shop(user, shop_account_id)
    dues = due_preview(shop_account_id=shop.pk, arrival=arrival)
    rows = []
    for kind, label in DeadlineKind.choices:
        due = dues.get(kind)
        rows.append(
            PreviewRow(
                kind=kind,
                label=str(label),
                due_at=due.due_at if due is not None else None,
                rule=due.rule if due is not None else {},
            )
        )
    return rows
