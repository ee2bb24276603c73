"""What supervisors and admins change of the SLA tracker: the organisation's policy and each
shop's override (or following the organisation again), a shop's working week and time zone,
its holidays (entered or imported from an iCal file).

Every change is audited and, once committed, queues the recompute of the open deadlines it
moves (``monitoring.tasks.sla_recompute``, with shop ids only). Validation refuses with a
``ServiceError`` whose message is marked for translation and whose ``details["field"]`` names
the form field to show it beside. Agents, and shops of another organisation, are a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.hooks import ShopTimeZoneChanged, shop_time_zone_changed
from inbox.selectors.accounts import AnyUser, member_for, shop_account_get, shop_account_list
from inbox.services.shop_accounts import shop_account_time_zone_set
from monitoring.audit_log.address import request_address
from monitoring.models import BusinessCalendar, Holiday, HolidaySource, SlaPolicy
from monitoring.services.audit import audit_record
from monitoring.services.sla_values import (
    HOLIDAY_NAME_MAX,
    PolicyValues,
    holiday_name,
    policy_values_of,
    refuse,
    working_hours_clean,
)
from scrm.api import NotFound, ServiceError, locked_or_not_found
from scrm.memo import MAX_AGE_SECONDS, forget_all
from scrm.params import MAX_ID

if TYPE_CHECKING:
    from inbox.models import Member, ShopAccount

logger = logging.getLogger(__name__)

ICAL_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    added: int
    skipped: int


# --- who may -----------------------------------------------------------------------------------
def sla_manager(user: AnyUser) -> Member:
    """The acting member when a supervisor or admin; NotFound for everyone else (the SLA
    settings do not exist for agents)."""
    member = member_for(user)
    if not member.sees_all_shops:
        raise NotFound("Page not found.")
    return member


def managed_shop(user: AnyUser, shop_account_id: int) -> ShopAccount:
    """A shop account of the supervisor's or admin's organisation, or NotFound."""
    sla_manager(user)
    if not 1 <= shop_account_id <= MAX_ID:
        raise NotFound("Shop account not found.")
    return shop_account_get(user, shop_account_id)


# --- the recompute -----------------------------------------------------------------------------
def _recompute_send(shop_account_ids: list[int]) -> None:
    try:
        from monitoring.tasks import sla_recompute
    except ImportError:
        logger.warning("sla_recompute task missing: open deadlines not recomputed")
        return
    # A worker's batch holds a shop's rules up to MAX_AGE_SECONDS (scrm.memo): this process's
    # are dropped now; a worker elsewhere may still open deadlines on the old rules that long,
    # after the first recompute ran, so a second one runs once they cannot (services mode: with
    # eager tasks every worker is this process).
    forget_all()
    sla_recompute.delay(shop_account_ids=shop_account_ids)
    if not sla_recompute.app.conf.task_always_eager:
        sla_recompute.apply_async(
            kwargs={"shop_account_ids": shop_account_ids}, countdown=MAX_AGE_SECONDS + 1
        )


def recompute_on_commit(shop_account_ids: Iterable[int]) -> None:
    """Once committed, have the open deadlines of these shops recomputed in the background."""
    ids = sorted(set(shop_account_ids))
    if ids:
        transaction.on_commit(partial(_recompute_send, ids))


def _shop_time_zone_changed(moment: ShopTimeZoneChanged) -> None:
    recompute_on_commit([moment.shop_account_id])


def subscribe() -> None:
    """A shop's new time zone, wherever it is set (its calendar page, the shop's settings),
    recomputes its open deadlines (``MonitoringConfig.ready``)."""
    shop_time_zone_changed.subscribe(_shop_time_zone_changed)


def _policy_audit_data(values: PolicyValues) -> dict[str, Any]:
    data = asdict(values)
    data["same_day_cutoff"] = f"{values.same_day_cutoff:%H:%M}"
    return data


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}


def _shops_following_organisation(actor: AnyUser, organisation_id: int) -> list[int]:
    overridden = SlaPolicy.objects.filter(
        organisation_id=organisation_id, shop_account__isnull=False
    ).values("shop_account_id")
    return list(shop_account_list(actor).exclude(id__in=overridden).values_list("id", flat=True))


# --- policies ----------------------------------------------------------------------------------
@transaction.atomic
def sla_policy_save(
    *, actor: AnyUser, shop_account_id: int | None, values: PolicyValues
) -> SlaPolicy:
    """Save the organisation's policy (``shop_account_id`` None) or a shop's own override
    (created on its first save: from then on the shop no longer follows the organisation).

    Keeps: supervisors and admins of the organisation only (404 else); one policy per
    organisation and per shop (the unique constraints); audited as ``sla_policy.created`` or
    ``sla_policy.updated`` with each changed value's before and after; an unchanged save writes
    nothing; on commit the open deadlines of the shops it governs are recomputed.
    """
    member = sla_manager(actor)
    if shop_account_id is not None:
        managed_shop(actor, shop_account_id)
    policy, created = SlaPolicy.objects.select_for_update().get_or_create(
        organisation_id=member.organisation_id, shop_account_id=shop_account_id
    )
    before = _policy_audit_data(policy_values_of(policy))
    after = _policy_audit_data(values)
    changed = _changes(before, after)
    if not created and not changed:
        return policy
    for name, value in asdict(values).items():
        setattr(policy, name, value)
    policy.updated_by_id = actor.pk
    policy.save()
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="sla_policy.created" if created else "sla_policy.updated",
        shop_account_id=policy.shop_account_id,
        ip=request_address(),
        target=policy,
        data={"shop_account_id": shop_account_id, "changed": changed},
    )
    if shop_account_id is not None:
        recompute_on_commit([shop_account_id])
    else:
        recompute_on_commit(_shops_following_organisation(actor, member.organisation_id))
    return policy


@transaction.atomic
def sla_policy_revert(*, actor: AnyUser, shop_account_id: int) -> None:
    """A shop follows the organisation's policy again: its override is deleted.

    Keeps: supervisors and admins only, shops of their organisation (404 else); a shop without
    an override is left as it is (nothing audited); audited as ``sla_policy.reverted`` with the
    override's values; on commit the shop's open deadlines are recomputed.
    """
    member = sla_manager(actor)
    managed_shop(actor, shop_account_id)
    policy = (
        SlaPolicy.objects.select_for_update()
        .filter(organisation_id=member.organisation_id, shop_account_id=shop_account_id)
        .first()
    )
    if policy is None:
        return
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="sla_policy.reverted",
        shop_account_id=policy.shop_account_id,
        ip=request_address(),
        target=policy,
        data={
            "shop_account_id": shop_account_id,
            "was": _policy_audit_data(policy_values_of(policy)),
        },
    )
    policy.delete()
    recompute_on_commit([shop_account_id])


# --- calendars ---------------------------------------------------------------------------------
def _calendar_for_update(member: Member, shop_account_id: int) -> BusinessCalendar:
    calendar, _created = BusinessCalendar.objects.select_for_update().get_or_create(
        shop_account_id=shop_account_id, defaults={"organisation_id": member.organisation_id}
    )
    return calendar


@transaction.atomic
def calendar_save(
    *,
    actor: AnyUser,
    shop_account_id: int,
    time_zone: str,
    working_hours: Mapping[Any, Sequence[Sequence[Any]]],
) -> BusinessCalendar:
    """Set a shop's time zone and working week (``working_hours_clean``'s rules).

    Keeps: supervisors and admins only, shops of their organisation (404 else); nothing saved
    unless all of it is valid; the time zone through the inbox's
    ``shop_account_time_zone_set`` (audited there, its hook queues the recompute); the week
    audited as ``sla_calendar.updated`` with its before and after; unchanged writes nothing;
    on commit the shop's open deadlines are recomputed (once) when anything changed.
    """
    member = sla_manager(actor)
    shop = managed_shop(actor, shop_account_id)
    hours = working_hours_clean(working_hours)
    zone_changed = shop_account_time_zone_set(
        actor=actor, shop_account_id=shop.pk, time_zone=time_zone
    )
    calendar = _calendar_for_update(member, shop.pk)
    week_changed = calendar.working_hours != hours
    if week_changed:
        audit_record(
            organisation_id=member.organisation_id,
            actor=actor,
            action="sla_calendar.updated",
            shop_account_id=calendar.shop_account_id,
            ip=request_address(),
            target=calendar,
            data={
                "shop_account_id": shop.pk,
                "changed": {"working_hours": {"from": calendar.working_hours, "to": hours}},
            },
        )
        calendar.working_hours = hours
        calendar.updated_by_id = actor.pk
        calendar.save()
    if week_changed and not zone_changed:  # a new time zone queued it already (the hook)
        recompute_on_commit([shop.pk])
    return calendar


@transaction.atomic
def holiday_add(*, actor: AnyUser, shop_account_id: int, day: date, name: str = "") -> Holiday:
    """A whole day off for one shop (in its time zone).

    Keeps: supervisors and admins only, shops of their organisation (404 else); one holiday a
    date (409 ``holiday_exists`` for a second); audited as ``sla_holiday.added``; on commit
    the shop's open deadlines are recomputed.
    """
    member = sla_manager(actor)
    managed_shop(actor, shop_account_id)
    clean_name = holiday_name(name)
    calendar = _calendar_for_update(member, shop_account_id)
    if calendar.holidays.filter(date=day).exists():
        raise ServiceError(
            gettext_noop("That date is already a holiday."),
            code="holiday_exists",
            status_code=409,
            details={"field": "date"},
        )
    holiday = Holiday.objects.create(calendar=calendar, date=day, name=clean_name)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="sla_holiday.added",
        shop_account_id=calendar.shop_account_id,
        ip=request_address(),
        target=holiday,
        data={"shop_account_id": shop_account_id, "date": day.isoformat()},
    )
    recompute_on_commit([shop_account_id])
    return holiday


@transaction.atomic
def holiday_remove(*, actor: AnyUser, shop_account_id: int, holiday_id: int) -> None:
    """Remove one of a shop's holidays.

    Keeps: supervisors and admins only; the holiday must be of that shop of their organisation
    (404 else); audited as ``sla_holiday.removed``; on commit the shop's open deadlines are
    recomputed.
    """
    member = sla_manager(actor)
    managed_shop(actor, shop_account_id)
    if not 1 <= holiday_id <= MAX_ID:
        raise NotFound("Holiday not found.")
    holiday = locked_or_not_found(
        Holiday,
        "Holiday not found.",
        pk=holiday_id,
        calendar__shop_account_id=shop_account_id,
        calendar__organisation_id=member.organisation_id,
    )
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="sla_holiday.removed",
        shop_account_id=shop_account_id,
        ip=request_address(),
        target=holiday,
        data={"shop_account_id": shop_account_id, "date": holiday.date.isoformat()},
    )
    holiday.delete()
    recompute_on_commit([shop_account_id])


def _ical_days(data: bytes, time_zone: str) -> list[tuple[date, str]]:
    from monitoring.sla.ical import ICalError, holidays_from_ical

    if not data:
        raise refuse(gettext_noop("Choose an iCal (.ics) file."), "ical")
    if len(data) > ICAL_MAX_BYTES:
        raise refuse(gettext_noop("The file is larger than 1 MB."), "ical")
    try:
        return holidays_from_ical(data, time_zone=time_zone)
    except ICalError as exc:  # its message is translated already
        raise refuse(str(exc), "ical") from None


@transaction.atomic
def holidays_import_ical(*, actor: AnyUser, shop_account_id: int, data: bytes) -> ImportResult:
    """Add the days of an iCal file's events as the shop's holidays (a multi-day event: each
    of its days).

    Keeps: supervisors and admins only, shops of their organisation (404 else); a date already
    a holiday (or twice in the file) is skipped, never a second row; a file that cannot be read
    adds nothing (400); audited once as ``sla_holidays.imported`` with the counts; on commit the
    shop's open deadlines are recomputed when any was added.
    """
    member = sla_manager(actor)
    shop = managed_shop(actor, shop_account_id)
    days = _ical_days(data, shop.time_zone)
    calendar = _calendar_for_update(member, shop_account_id)
    taken = set(calendar.holidays.values_list("date", flat=True))
    new: list[Holiday] = []
    for day, name in days:
        if day in taken:
            continue
        taken.add(day)
        new.append(
            Holiday(
                calendar=calendar,
                date=day,
                name=" ".join(str(name).split())[:HOLIDAY_NAME_MAX],
                source=HolidaySource.ICAL,
            )
        )
    Holiday.objects.bulk_create(new)
    result = ImportResult(added=len(new), skipped=len(days) - len(new))
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="sla_holidays.imported",
        shop_account_id=calendar.shop_account_id,
        ip=request_address(),
        target=calendar,
        data={"shop_account_id": shop_account_id, **asdict(result)},
    )
    if new:
        recompute_on_commit([shop_account_id])
    return result
