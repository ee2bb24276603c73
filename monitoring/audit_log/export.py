"""The audit log as CSV: the export is itself an audit event, then the rows stream.

Cells go through ``scrm.csvcells.escape_cell`` (a spreadsheet never runs one as a formula).
The columns are the row's own: ids, the actor's name as kept on the row, the action, the shop,
the target's type and id, the address's keyed hash and ``data`` (ids and enumerated values by
the log's rule). Nothing is read from other tables but the shop names, so no personal data can
reach the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from inbox.selectors.accounts import AnyUser, shop_account_list
from monitoring.audit_log.address import request_address
from monitoring.audit_log.selectors import AuditFilters, audit_event_list, audit_viewer
from monitoring.models import AuditEvent
from monitoring.services.audit import audit_record
from scrm.csvcells import escape_cell

COLUMNS = [
    "id",
    "time",
    "actor_id",
    "actor",
    "action",
    "shop_account_id",
    "shop",
    "target_type",
    "target_id",
    "address_hash",
    "data",
]
CHUNK = 2000


@transaction.atomic
def audit_export_record(*, actor: AnyUser, filters: AuditFilters, via: str) -> AuditEvent:
    """Record that ``actor`` exported the log with these filters (``audit.exported``), before
    any row is written out. Keeps: supervisors and admins only, and a shop filter within their
    reach (NotFound otherwise, and nothing recorded)."""
    member = audit_viewer(actor)
    audit_event_list(actor, filters)  # a shop outside reach: NotFound before anything is recorded
    return audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="audit.exported",
        data={"filters": filters.as_data(), "format": "csv", "via": via},
        shop_account_id=filters.shop_account_id,
        ip=request_address(),
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_lines(user: AnyUser, filters: AuditFilters) -> Iterator[str]:
    """The CSV's lines, header first, newest event first; read in chunks (constant memory).
    The access check, the shop names and the viewer's time zone are taken now, not when the
    response streams (after the request's middleware has finished)."""
    rows = audit_event_list(user, filters).values_list(
        "id",
        "created_at",
        "actor_id",
        "actor_name",
        "action",
        "shop_account_id",
        "target_type",
        "target_id",
        "ip_digest",
        "data",
    )
    shops = dict(shop_account_list(user).values_list("id", "name"))
    return _lines(rows, shops, timezone.get_current_timezone())


def _lines(rows: Any, shops: dict[int, str], zone: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)  # the BOM: Excel reads the file as UTF-8
    for row in rows.iterator(chunk_size=CHUNK):
        yield writer.writerow([escape_cell(cell) for cell in _cells(row, shops, zone)])


def _cells(row: tuple[Any, ...], shops: dict[int, str], zone: Any) -> list[Any]:
    event_id, at, actor_id, actor, action, shop_id, t_type, t_id, digest, data = row
    return [
        event_id,
        at.astimezone(zone).isoformat(timespec="seconds"),
        actor_id or "",
        actor,
        action,
        shop_id or "",
        shops.get(shop_id, "") if shop_id else "",
        t_type,
        t_id,
        digest,
        json.dumps(data, ensure_ascii=False, sort_keys=True) if data else "",
    ]
