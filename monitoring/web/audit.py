"""The supervisors' audit log page, ``/monitoring/audit/``, and its CSV export.

Supervisors and admins only (the 404 page for everyone else). The page filters by agent,
action, shop and time (dates in the viewer's time zone) and pages backwards by id; the CSV
streams the same filtered log, after recording the export (``audit.exported``).
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from monitoring.audit_log.actions import GROUPS, action_label
from monitoring.audit_log.export import audit_csv_lines, audit_export_record
from monitoring.audit_log.selectors import (
    AuditFilters,
    audit_choices,
    audit_event_page,
    audit_filters_parse,
    audit_viewer,
)
from scrm.api import ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

page = signed_in_page("GET", never_cached=True)
FILTER_KEYS = ("actor", "action", "shop_account", "since", "until")


def _filters(request: HttpRequest) -> tuple[AuditFilters, str]:
    try:
        return audit_filters_parse(request.GET), ""
    except ServiceError as exc:
        return AuditFilters(), _(exc.message)


@page
def audit_log_page(request: HttpRequest) -> HttpResponse:
    """The log, newest first, filtered; 50 a page, "Older" pages by the last id shown."""
    member = audit_viewer(request.user)
    filters, error = _filters(request)
    before = int_param(request.GET.get("before"), minimum=1)
    events, next_before = audit_event_page(request.user, filters, before=before)
    choices = audit_choices(request.user)
    shops = dict(choices["shops"])
    rows = [_row(event, shops) for event in events]
    query = QueryDict(mutable=True)  # the filters given, for the paging and CSV links
    for key in FILTER_KEYS:
        value = request.GET.get(key, "").strip()
        if value:
            query[key] = value
    return render(
        request,
        "monitoring/audit/log.html",
        {
            "member": member,
            "nav": "audit",
            "tab": "log",
            "rows": rows,
            "groups": GROUPS,
            "choices": choices,
            "form": request.GET,
            "error": error,
            "next_before": next_before,
            "first_page": before is None,
            "query": query.urlencode(),
            "time_zone": timezone.get_current_timezone_name(),
        },
        status=400 if error else 200,
    )


def _row(event: Any, shops: dict[int, str]) -> dict[str, Any]:
    data = event.data if isinstance(event.data, dict) else {}
    return {
        "id": event.id,
        "at": event.created_at,
        "actor": event.actor_name,
        "actor_id": event.actor_id,
        "action": event.action,
        "label": action_label(event.action),
        "shop": shops.get(event.shop_account_id, "") if event.shop_account_id else "",
        "target": f"{event.target_type.rsplit('.', 1)[-1]} #{event.target_id}"
        if event.target_id
        else "",
        "data": ", ".join(f"{key}={data[key]}" for key in sorted(data))[:300],
        "address": event.ip_digest[:8],
    }


@page
def audit_log_csv(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV (audited as ``audit.exported`` before a row is sent)."""
    audit_viewer(request.user)
    try:
        filters = audit_filters_parse(request.GET)
    except ServiceError as exc:
        return HttpResponse(_(exc.message), status=400, content_type="text/plain; charset=utf-8")
    audit_export_record(actor=request.user, filters=filters, via="page")
    # A streamed response is a response like any other to the page wrapper.
    return cast(HttpResponse, csv_response(audit_csv_lines(request.user, filters)))


def csv_response(lines: Any) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
