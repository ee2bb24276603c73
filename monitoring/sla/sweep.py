"""The one-minute sweep: every deadline whose next threshold has come gets its alerts recorded
once and its people told once (docs/sla.md, "Alerts").

How "exactly once" holds:

* one batch is one transaction: the deadlines (``deadline_sweep`` index, oldest threshold
  first, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so two sweeps share the work instead of
  waiting on each other), their alerts, receipts, events and channel deliveries, and their
  ``next_alert_at`` moved on. A worker that dies mid-batch rolls it all back; the next sweep
  finds the same deadlines and does it.
* the alerts are inserted with ``ON CONFLICT DO NOTHING ... RETURNING``: the unique
  constraint (deadline, kind, threshold) is the de-duplication, and only the rows this sweep
  inserted are told. Where rows are not locked (SQLite, where writers are serialised anyway)
  two sweeps may both read a deadline; one inserts, the other inserts nothing and tells nobody.
* catch-up: a deadline whose several thresholds passed while no sweep ran (workers down) gets
  every one recorded, but only the most severe is sent (the breach; else the nearest warning);
  the others are recorded with ``data = {"catch_up": true, "told": false}``, the one sent with
  ``data = {"caught_up": [the thresholds not sent]}``.
* never an ETA task: due times are rows; the sweep is the only timer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from monitoring.models.sla import (
    AlertKind,
    Deadline,
    DeadlineState,
    SlaAlert,
)
from monitoring.sla.alerts import (
    People,
    Subject,
    Telling,
    alerts_tell,
    audience_for,
    subjects_for,
)
from monitoring.sla.alerts import warning_escalate as _warning_escalate

BATCH_SIZE = 500
BUDGET_SECONDS = 45.0  # under the one-minute period: the next sweep picks up the rest
INSERT_CHUNK = 300
UPDATE_CHUNK = 400  # two parameters a row: under SQLite's old limit of 999


@dataclass
class SweepResult:
    deadlines: int = 0  # deadlines whose threshold had come
    recorded: int = 0  # alerts inserted
    sent: int = 0  # alerts told (recorded minus catch-up ones left unsent)
    batches: int = 0


@dataclass
class _Pending:
    """One alert a deadline owes at this sweep."""

    deadline: Deadline
    kind: str
    threshold: int
    told: bool
    data: dict[str, Any] = field(default_factory=dict)


def sla_sweep(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    budget_seconds: float = BUDGET_SECONDS,
) -> SweepResult:
    """Record and send every alert whose threshold is at or before ``now``, batch by batch
    until none is left or the time budget is spent (the next sweep continues).

    Keeps: each alert (deadline, kind, threshold) is recorded and told at most once, whatever
    sweeps run at once or die; a batch is all or nothing; a deadline's ``next_alert_at``
    becomes its next threshold after ``now``, or null once the breach is recorded.
    """
    now = now or timezone.now()
    result = SweepResult()
    people = People()  # who to tell, read once per sweep (per shop, as batches meet them)
    started = time.monotonic()
    while True:
        found = _sweep_batch(now=now, batch_size=batch_size, result=result, people=people)
        if found < batch_size or time.monotonic() - started > budget_seconds:
            return result


@transaction.atomic
def _sweep_batch(*, now: datetime, batch_size: int, result: SweepResult, people: People) -> int:
    qs = Deadline.objects.filter(next_alert_at__lte=now).order_by("next_alert_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    deadlines = list(qs[:batch_size])
    if not deadlines:
        return 0
    result.batches += 1
    warnings = _Warnings()
    pending: list[_Pending] = []
    for deadline in deadlines:
        if deadline.state != DeadlineState.OPEN:
            deadline.next_alert_at = None  # closed without clearing it: nothing to send
            continue
        result.deadlines += 1
        thresholds = warnings.for_deadline(deadline)
        pending += _owed(deadline, thresholds, now)
        deadline.next_alert_at = _next_alert_at(deadline, thresholds, now)
    _next_alert_at_save(deadlines)
    if pending:
        _record_and_tell(pending, now=now, result=result, people=people)
    return len(deadlines)


def _next_alert_at_save(deadlines: list[Deadline]) -> None:
    """Each deadline's new ``next_alert_at`` in one ``UPDATE ... FROM (VALUES ...)`` per
    ``UPDATE_CHUNK`` (``bulk_update`` compiles a CASE of one branch per row: most of a
    20-alert sweep's Python time)."""
    table = connection.ops.quote_name(Deadline._meta.db_table)
    column = connection.ops.quote_name(str(Deadline._meta.get_field("next_alert_at").column))
    one = "(%s::bigint, %s::timestamptz)" if connection.vendor == "postgresql" else "(%s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(deadlines), UPDATE_CHUNK):
        chunk = deadlines[start : start + UPDATE_CHUNK]
        params: list[Any] = []
        for d in chunk:
            params += [d.id, adapt(d.next_alert_at)]
        sql = (  # names from the model's metadata; values are parameters
            f"WITH v(id, at) AS (VALUES {', '.join([one] * len(chunk))}) "  # noqa: S608
            f"UPDATE {table} SET {column} = v.at FROM v WHERE {table}.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


class _Warnings:
    """A deadline's warning thresholds (minutes before due): as recorded when it opened
    (``rule["warnings"]``), else its shop's policy (read once per shop and batch)."""

    def __init__(self) -> None:
        self._by_shop: dict[int, tuple[int, ...]] = {}

    def for_deadline(self, deadline: Deadline) -> tuple[int, ...]:
        recorded = (deadline.rule or {}).get("warnings")
        if isinstance(recorded, list):
            return _clean(recorded)
        shop = deadline.shop_account_id
        if shop not in self._by_shop:
            self._by_shop[shop] = _clean(_policy_warnings(shop))
        return self._by_shop[shop]


def _policy_warnings(shop_account_id: int) -> Sequence[object]:
    from monitoring.sla.policies import policy_for_shop, warning_minutes

    return warning_minutes(policy_for_shop(shop_account_id))


def _clean(minutes: Sequence[object]) -> tuple[int, ...]:
    return tuple(sorted({m for m in minutes if isinstance(m, int) and m > 0}, reverse=True))


def _owed(deadline: Deadline, thresholds: tuple[int, ...], now: datetime) -> list[_Pending]:
    """The alerts whose time has come: each warning from ``next_alert_at`` (earlier ones were
    skipped when the deadline opened inside its window) up to now, and the breach at due."""
    start = deadline.next_alert_at or now
    owed = [
        _Pending(deadline, AlertKind.WARNING, minutes, told=False)
        for minutes in thresholds
        if start <= deadline.due_at - timedelta(minutes=minutes) <= now
    ]
    if deadline.due_at <= now:
        owed.append(_Pending(deadline, AlertKind.BREACH, 0, told=False))
    if owed:
        # Severity: the breach, else the warning nearest the due time (the list's last).
        owed[-1].told = True
        skipped = [p.threshold for p in owed[:-1]]
        if skipped:
            owed[-1].data = {"caught_up": skipped}
        for p in owed[:-1]:
            p.data = {"catch_up": True, "told": False}
    return owed


def _next_alert_at(
    deadline: Deadline, thresholds: tuple[int, ...], now: datetime
) -> datetime | None:
    if deadline.due_at <= now:
        return None  # the breach is this sweep's: nothing after it
    upcoming = [deadline.due_at - timedelta(minutes=m) for m in thresholds]
    return min([at for at in upcoming if at > now] + [deadline.due_at])


def _record_and_tell(
    pending: list[_Pending], *, now: datetime, result: SweepResult, people: People
) -> None:
    told = [p.deadline for p in pending if p.told]
    people.load(
        shop_account_ids={d.shop_account_id for d in told},
        organisation_ids={d.organisation_id for d in told},
    )
    subjects = subjects_for({p.deadline.id: p.deadline for p in pending}.values())
    audiences = {}
    for p in pending:
        if p.told:
            subject = subjects[p.deadline.id]
            audiences[(p.deadline.id, p.kind, p.threshold)] = (
                subject,
                audience_for(deadline=p.deadline, kind=p.kind, subject=subject, people=people),
            )
    inserted = _insert(pending, audiences, now=now)
    result.recorded += len(inserted)
    tellings = []
    for p in pending:
        alert = inserted.get((p.deadline.id, p.kind, p.threshold))
        if alert is None or not p.told:
            continue
        subject, audience = audiences[(p.deadline.id, p.kind, p.threshold)]
        audience = _warning_escalate(alert=alert, subject=subject, fallback=audience, people=people)
        tellings.append(Telling(alert, audience.user_ids, p.deadline))
    alerts_tell(tellings, now=now, people=people)
    result.sent += len(tellings)


def _insert(
    pending: list[_Pending],
    audiences: dict[tuple[int, str, int], tuple[Subject, Any]],
    *,
    now: datetime,
) -> dict[tuple[int, str, int], SlaAlert]:
    """Insert the alerts, skipping those already recorded (by this sweep's twin or an earlier
    run); the ones inserted here, by (deadline, kind, threshold)."""
    rows = []
    for p in pending:
        audience = audiences.get((p.deadline.id, p.kind, p.threshold))
        assignee = audience[1].assignee_id if audience else None
        escalated = audience[1].escalated if audience else False
        rows.append((p, assignee, escalated))
    inserted: dict[tuple[int, str, int], SlaAlert] = {}
    for start in range(0, len(rows), INSERT_CHUNK):
        for alert in _insert_chunk(rows[start : start + INSERT_CHUNK], now):
            key = (alert.deadline_id or 0, alert.kind, alert.threshold_minutes)
            inserted[key] = alert
    return inserted


def _insert_chunk(rows: list[tuple[_Pending, int | None, bool]], now: datetime) -> list[SlaAlert]:
    meta = SlaAlert._meta
    columns = [
        "organisation_id",
        "shop_account_id",
        "deadline_id",
        "kind",
        "threshold_minutes",
        "assignee_id",
        "escalated",
        "data",
        "created_at",
    ]
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    one = "(" + ", ".join(["%s"] * 7 + [f"%s{json_cast}", "%s"]) + ")"
    created = connection.ops.adapt_datetimefield_value(now)
    params: list[Any] = []
    for p, assignee, escalated in rows:
        d = p.deadline
        params += [d.organisation_id, d.shop_account_id, d.id, p.kind, p.threshold]
        params += [assignee, escalated, json.dumps(p.data), created]
    sql = (  # names from the model's metadata; values are parameters
        f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}) '  # noqa: S608
        f"VALUES {', '.join([one] * len(rows))} ON CONFLICT DO NOTHING "
        "RETURNING id, deadline_id, kind, threshold_minutes, assignee_id, escalated"
    )
    by_key = {(p.deadline.id, p.kind, p.threshold): p for p, _, _ in rows}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    alerts = []
    for alert_id, deadline_id, kind, threshold, assignee, escalated in returned:
        p = by_key[(deadline_id, kind, threshold)]
        alerts.append(
            SlaAlert(
                id=alert_id,
                organisation_id=p.deadline.organisation_id,
                shop_account_id=p.deadline.shop_account_id,
                deadline_id=deadline_id,
                kind=kind,
                threshold_minutes=threshold,
                assignee_id=assignee,
                escalated=bool(escalated),
                data=p.data,
                created_at=now,
            )
        )
    return alerts
