"""The supervisors' behaviour page, ``/monitoring/behaviour/``: per person over a period
(default the last 7 days), with who stands out against the team (``monitoring.audit_log``)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring.audit_log.behaviour import MIN_ACTIONS, MIN_REPLIES, RULES, behaviour_report
from monitoring.audit_log.charts import SPARK_HEIGHT, SPARK_WIDTH, bar_chart, sparkline
from monitoring.audit_log.selectors import audit_filters_parse, audit_viewer
from monitoring.audit_log.stats import THRESHOLD
from scrm.api import ServiceError
from scrm.pages import signed_in_page

page = signed_in_page("GET", never_cached=True)

FIGURES = {
    "replies_per_hour": gettext_lazy("Replies an hour (while active)"),
    "first_reply_minutes": gettext_lazy("Median first reply (minutes)"),
    "violation_rate": gettext_lazy("Violations per reply"),
    "reveals": gettext_lazy("Reveals of personal data"),
    "off_hours_share": gettext_lazy("Share of actions off hours"),
}


@page
def behaviour_page(request: HttpRequest) -> HttpResponse:
    """Each person's figures, the team's median, the unusual flagged, and charts."""
    member = audit_viewer(request.user)
    error = ""
    try:
        period = audit_filters_parse(
            {"since": request.GET.get("since", ""), "until": request.GET.get("until", "")}
        )
        since, until = period.since, period.until
    except ServiceError as exc:
        error, since, until = _(exc.message), None, None
    until = until or timezone.now()
    since = since or until - timedelta(days=7)
    report = behaviour_report(request.user, since=since, until=until)
    charts = [
        {"label": FIGURES[name], "chart": bar_chart(name, report.agents, report.team[name])}
        for name in RULES
    ]
    rows = [{"agent": a, "spark": sparkline(a.daily_replies)} for a in report.agents]
    return render(
        request,
        "monitoring/audit/behaviour.html",
        {
            "member": member,
            "nav": "behaviour",
            "tab": "behaviour",
            "error": error,
            "report": report,
            "rows": rows,
            "charts": charts,
            "figures": FIGURES,
            "since_value": request.GET.get("since", "")
            or timezone.localtime(since).date().isoformat(),
            "until_value": request.GET.get("until", ""),
            "threshold": int(THRESHOLD),
            "min_replies": MIN_REPLIES,
            "min_actions": MIN_ACTIONS,
            "spark_w": SPARK_WIDTH,
            "spark_h": SPARK_HEIGHT,
            "time_zone": timezone.get_current_timezone_name(),
        },
        status=400 if error else 200,
    )
