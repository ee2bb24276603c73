"""The problem log's pages, under /monitoring/problems/ (supervisors and admins; for anyone
else they do not exist, 404):

- ``problems/``: the organisation's setting (an issue type required at resolve), the trend
  alert rules (add, pause, resume, delete) and the shops' weekly reports;
- ``problems/<shop>/``: one shop's weekly report (``?week=YYYY-MM-DD``: the shop-local week
  holding that day; none: the current week), with the buyers' words masked;
- ``problems/<shop>/export.csv``: the same as CSV (audited).

A bad ``week`` is a 400 with the reason; a POST names its ``action``, calls one service and
redirects back with what it did, or shows the page again with the refusal.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from inbox.selectors.accounts import member_for, shop_account_list
from inbox.selectors.for_problems import problem_shop_ids
from monitoring.models.problems import IssueType, ProblemSettings, TrendKind, TrendRule
from monitoring.problems.export import problem_report_export
from monitoring.problems.report import weekly_report
from monitoring.problems.services import (
    problem_settings_set,
    trend_rule_add,
    trend_rule_delete,
    trend_rule_set_active,
)
from scrm.api import NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

settings_view = signed_in_page("GET", "POST", never_cached=True)
report_view = signed_in_page("GET", never_cached=True)


def _say(exc: ServiceError) -> str:
    text = _(exc.message)
    try:
        return text % exc.details if "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return text


def _week(request: HttpRequest) -> date | None:
    raw = request.GET.get("week", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise ServiceError(_("The week is a date: YYYY-MM-DD."), code="invalid") from None


def _act(request: HttpRequest) -> str:
    post, actor = request.POST, request.user
    action = post.get("action", "")
    rule_id = int_param(post.get("rule"), minimum=1) or 0
    if action == "require":
        problem_settings_set(actor=actor, require_issue_type=post.get("require") == "on")
        return _("Setting saved.")
    if action == "add_rule":
        trend_rule_add(
            actor=actor,
            kind=post.get("kind", ""),
            shop_account_id=int_param(post.get("shop"), minimum=1),
            days=post.get("days", "3"),
            factor=post.get("factor", "2"),
            min_count=post.get("min_count", "3"),
        )
        return _("Rule added.")
    if action in ("pause", "resume"):
        trend_rule_set_active(actor=actor, rule_id=rule_id, is_active=action == "resume")
        return _("Rule resumed.") if action == "resume" else _("Rule paused.")
    if action == "delete":
        trend_rule_delete(actor=actor, rule_id=rule_id)
        return _("Rule deleted.")
    raise ServiceError("Unknown action.", code="invalid")


def _settings_context(request: HttpRequest) -> dict[str, Any]:
    member = member_for(request.user)
    shops = list(
        shop_account_list(request.user)
        .filter(id__in=problem_shop_ids(request.user))
        .values("id", "name", "time_zone")
    )
    found = ProblemSettings.objects.filter(organisation_id=member.organisation_id).first()
    rules = TrendRule.objects.filter(organisation_id=member.organisation_id).select_related(
        "shop_account"
    )
    return {
        "shops": shops,
        "require": bool(found and found.require_issue_type),
        "rules": list(rules.order_by("id")),
        "kinds": TrendKind.choices,
        "member": member,
        "nav": "problems",
    }


@settings_view
def problems_page(request: HttpRequest) -> HttpResponse:
    """The setting, the trend rules and the shops' reports (supervisors and admins)."""
    if not member_for(request.user).sees_all_shops:
        raise NotFound("Page not found.")
    error = ""
    if request.method == "POST":
        try:
            messages.success(request, _act(request))
            return redirect(reverse("monitor:problems"))
        except NotFound:
            raise
        except ServiceError as exc:
            error = _say(exc)
    context = {**_settings_context(request), "error": error}
    return render(request, "monitoring/problems/index.html", context, status=400 if error else 200)


@report_view
def report_page(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """One shop's weekly report."""
    try:
        week = _week(request)
    except ServiceError as exc:
        return HttpResponse(_say(exc), status=400, content_type="text/plain; charset=utf-8")
    report = weekly_report(request.user, shop_account_id=shop_account_id, week=week)
    return render(
        request,
        "monitoring/problems/report.html",
        {
            "report": report,
            "issue_types": IssueType.choices,
            "member": member_for(request.user),
            "nav": "problems",
        },
    )


@report_view
def report_export(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """The weekly report as CSV (audited)."""
    try:
        week = _week(request)
    except ServiceError as exc:
        return HttpResponse(_say(exc), status=400, content_type="text/plain; charset=utf-8")
    body = problem_report_export(actor=request.user, shop_account_id=shop_account_id, week=week)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = (week or date.today()).isoformat()
    name = f"problems-{shop_account_id}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
