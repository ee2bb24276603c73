"""Reads of the audit log for supervisors and admins: who may read it, the filters, a page.

Access: supervisors and admins of the organisation (they reach every shop of it); anyone else,
agents included, finds nothing (NotFound, a 404). Paging is keyset on ``id`` (newest first), so
each page is one index range scan however deep, on ``audit_org_recent`` or, filtered by actor
or action, ``audit_org_actor`` / ``audit_org_action``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.models import Member
from inbox.selectors.accounts import AnyUser, member_for, shop_account_list
from monitoring.audit_log.actions import ACTION_PATTERN
from monitoring.models import AuditEvent
from scrm.api import NotFound, ServiceError
from scrm.params import int_param

PAGE_SIZE = 50
ID_CLOCK_SLACK = timedelta(minutes=1)


def audit_viewer(user: AnyUser) -> Member:
    """The acting member when a supervisor or admin; NotFound for everyone else."""
    try:
        member = member_for(user)
    except Exception:
        raise NotFound("Page not found.") from None
    if not member.sees_all_shops or not getattr(user, "is_active", False):
        raise NotFound("Page not found.")
    return member


@dataclass(frozen=True)
class AuditFilters:
    """What the log is filtered by: ids and enumerated values only (they are audited as is)."""

    actor_id: int | None = None
    action: str = ""
    shop_account_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_data(self) -> dict[str, Any]:
        """The filters as an audit event's ``data`` (no personal data: ids, names of actions)."""
        out: dict[str, Any] = {
            "actor_id": self.actor_id,
            "action": self.action or None,
            "shop_account_id": self.shop_account_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in out.items() if value is not None}


def _moment(raw: str, *, end: bool) -> datetime | None:
    """An ISO date (a whole local day in the viewer's time zone) or an ISO date-time."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(0, 0))
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError(
            gettext_noop("Give a date as YYYY-MM-DD or a time as ISO 8601."),
            code="invalid_time",
            details={"field": "until" if end else "since"},
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def audit_filters_parse(params: Any) -> AuditFilters:
    """The filters from query parameters ``actor``, ``action``, ``shop_account``, ``since``,
    ``until``; a malformed time or action is a 400 (ServiceError), an id that is no number is
    no filter."""
    action = str(params.get("action", "") or "").strip()
    if action and not ACTION_PATTERN.fullmatch(action):
        raise ServiceError(
            gettext_noop("Unknown action."), code="invalid_action", details={"field": "action"}
        )
    since = _moment(str(params.get("since", "") or ""), end=False)
    until = _moment(str(params.get("until", "") or ""), end=True)
    if since and until and since >= until:
        raise ServiceError(
            gettext_noop("The start is after the end."),
            code="invalid_range",
            details={"field": "since"},
        )
    return AuditFilters(
        actor_id=int_param(params.get("actor"), minimum=1),
        action=action,
        shop_account_id=int_param(params.get("shop_account"), minimum=1),
        since=since,
        until=until,
    )


def audit_event_list(user: AnyUser, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The viewer's organisation's events matching ``filters``, newest first."""
    member = audit_viewer(user)
    qs = AuditEvent.objects.filter(organisation_id=member.organisation_id)
    if filters.actor_id is not None:
        qs = qs.filter(actor_id=filters.actor_id)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.shop_account_id is not None:
        # A shop outside the viewer's reach is a 404, as everywhere (never an empty answer
        # that would tell it exists elsewhere, nor one that would look like a quiet shop).
        if not shop_account_list(user).filter(id=filters.shop_account_id).exists():
            raise NotFound("Shop account not found.")
        qs = qs.filter(shop_account_id=filters.shop_account_id)
    if filters.since is not None:
        qs = qs.filter(created_at__gte=filters.since)
        floor = _first_id_from(filters.since - ID_CLOCK_SLACK)
        qs = qs.filter(id__gte=floor) if floor is not None else qs.none()
    if filters.until is not None:
        qs = qs.filter(created_at__lt=filters.until)
        ceiling = _first_id_from(filters.until + ID_CLOCK_SLACK)
        qs = qs.filter(id__lt=ceiling) if ceiling is not None else qs
    return qs.order_by("-id")


def _first_id_from(moment: datetime) -> int | None:
    """The first event id (of any organisation: ids are one sequence) written at or after
    ``moment``; one probe of the ``created_at`` index.

    Why: the log pages by id, so a time window far in the past would otherwise be found by
    walking the organisation's index back from its newest row (a million rows: a second). Ids
    and times grow together, a row's time being taken just before its INSERT draws the id; the
    slack (a minute) covers that gap, and the time filters themselves stay exact."""
    return (
        AuditEvent.objects.filter(created_at__gte=moment)
        .order_by("created_at")
        .values_list("id", flat=True)
        .first()
    )


def audit_event_page(
    user: AnyUser, filters: AuditFilters, *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[AuditEvent], int | None]:
    """One page of events older than the event ``before`` (None: the newest), and the id to
    pass as ``before`` for the next page (None on the last)."""
    qs = audit_event_list(user, filters)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def audit_choices(user: AnyUser) -> dict[str, Any]:
    """The filter's choices: the organisation's people (by name) and shops (two queries)."""
    member = audit_viewer(user)
    rows = Member.objects.filter(organisation_id=member.organisation_id).values_list(
        "user_id", "display_name", "user__username"
    )
    people = sorted(((uid, shown or login) for uid, shown, login in rows), key=lambda p: p[1])
    shops = list(shop_account_list(user).values_list("id", "name"))
    return {"people": people, "shops": shops}
