"""The weekly problem report as CSV (a service: the export is audited)."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.db import transaction

from inbox.selectors.accounts import AnyUser, member_for
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from monitoring.problems.report import WeeklyReport, weekly_report
from scrm.csvcells import escape_cell


def report_csv(report: WeeklyReport) -> str:
    """One line per SKU and issue type: the week's count, the earlier weeks' counts (the week
    before first), the change and the masked quotes (joined by `` | ``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    earlier = [f"week_of_{d.isoformat()}" for d in report.earlier_weeks]
    writer.writerow(
        ["shop", "week_start", "sku", "issue_type", "count", *earlier, "change", "trend", "quotes"]
    )
    for row in report.rows:
        writer.writerow(
            [
                escape_cell(report.shop_name),
                report.week_start.isoformat(),
                escape_cell(row.sku),
                row.issue_type,
                row.count,
                *row.earlier,
                row.change,
                row.trend,
                escape_cell(" | ".join(row.quotes)),
            ]
        )
    return out.getvalue()


@transaction.atomic
def problem_report_export(*, actor: AnyUser, shop_account_id: int, week: date | None) -> str:
    """The CSV of one shop's week (who may read the report); audited as
    ``problem.report_exported`` with the shop, the week and the number of rows."""
    report = weekly_report(actor, shop_account_id=shop_account_id, week=week)
    body = report_csv(report)
    audit_record(
        organisation_id=member_for(actor).organisation_id,
        actor=actor,
        action="problem.report_exported",
        shop_account_id=shop_account_id,
        ip=request_address(),
        data={"week_start": report.week_start.isoformat(), "rows": len(report.rows)},
    )
    return body
