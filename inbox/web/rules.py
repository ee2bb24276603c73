"""The after-sales rules pages (supervisors and admins): the list, a rule (its dry run, enabling
with the warning, its history), creating and editing, and the compensation suggestions.

Plain forms, no JavaScript; each view parses the form, calls one service or selector and
renders. Another organisation's rule is a 404, an agent gets the 403 page, a refused change
is the page again with the reason and its status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from inbox.models import (
    AfterSalesRule,
    CaseKind,
    CompensationKind,
    IssueType,
    Member,
    RuleDecision,
    RuleDryRun,
)
from inbox.selectors import shop_account_list
from inbox.selectors.rules import (
    compensation_list_for,
    rule_applications,
    rule_dry_run_latest,
    rule_get_for_supervisor,
    rule_list_for,
    supervisor_for,
)
from inbox.services.rules.compensation import compensation_create, compensation_update
from inbox.services.rules.dry_run import DRY_RUN_DAYS, rule_dry_run
from inbox.services.rules.editing import rule_create, rule_disable, rule_enable, rule_update
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page

rules_page = signed_in_page("GET", "POST", never_cached=True)
rules_read = signed_in_page("GET", never_cached=True)
DRY_RUN_SHOWN = 200  # rows on the page (the API gives the rest of the stored ones)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    member = supervisor_for(request.user)
    base = {"member": member, "nav": "rules"}
    return render(request, f"inbox/rules/{template}", {**base, **context}, status=status)


def _refused(exc: ServiceError) -> tuple[str, int]:
    if isinstance(exc, NotFound | Forbidden):
        raise exc
    return _(exc.message), exc.status_code


@rules_read
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(rule_list_for(request.user))
    return _render(request, "list.html", {"rules": rules, "tab": "rules"})


def _form_context(request: HttpRequest, rule: AfterSalesRule | None, form: Any) -> dict:
    from templates_app.selectors import quick_reply_export_for

    member = supervisor_for(request.user)
    replies, _relations = quick_reply_export_for(request.user)
    people = (
        Member.objects.filter(organisation_id=member.organisation_id, user__is_active=True)
        .select_related("user")
        .order_by("display_name", "user__username")
    )
    return {
        "rule": rule,
        "form": form,
        "shops": shop_account_list(request.user),
        "kinds": CaseKind.choices,
        "decisions": RuleDecision.choices,
        "quick_replies": replies,
        "people": people,
        "tab": "rules",
    }


def _initial(rule: AfterSalesRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "shop_account_ids": [str(i) for i in rule.shop_account_ids],
        "kinds": rule.kinds,
        "reason_codes": "\n".join(rule.reason_codes),
        "reason_words": "\n".join(rule.reason_words),
        "amount_min": rule.amount_min if rule.amount_min is not None else "",
        "amount_max": rule.amount_max if rule.amount_max is not None else "",
        "currency": rule.currency,
        "skus": "\n".join(rule.skus),
        "refunds_month_min": rule.refunds_month_min or "",
        "refunds_ever_min": rule.refunds_ever_min or "",
        "decision": rule.decision,
        "reject_reason": rule.reject_reason,
        "assign_to": str(rule.assign_to_id or ""),
        "tag": rule.tag,
        "quick_reply": str(rule.quick_reply_id or ""),
        "note": rule.note,
    }


def _posted(request: HttpRequest) -> dict[str, Any]:
    form: dict[str, Any] = {k: request.POST.get(k, "") for k in request.POST}
    form["shop_account_ids"] = request.POST.getlist("shop_account_ids")
    form["kinds"] = request.POST.getlist("kinds")
    return form


@rules_page
def rule_new(request: HttpRequest) -> HttpResponse:
    error, status = "", 200
    form: dict[str, Any] = {"decision": ""}
    if request.method == "POST":
        form = _posted(request)
        try:
            rule = rule_create(actor=request.user, data=request.POST)
        except ServiceError as exc:
            error, status = _refused(exc)
        else:
            messages.success(request, _("Rule saved. Run it dry before enabling it."))
            return redirect("inbox:rule", rule_id=rule.id)
    context = _form_context(request, None, form)
    return _render(request, "form.html", {**context, "error": error}, status=status)


@rules_page
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get_for_supervisor(request.user, rule_id)
    error, status, form = "", 200, _initial(rule)
    if request.method == "POST":
        form = _posted(request)
        try:
            rule_update(actor=request.user, rule_id=rule.id, data=request.POST)
        except ServiceError as exc:
            error, status = _refused(exc)
        else:
            messages.success(request, _("Rule saved as a new version: run it dry again."))
            return redirect("inbox:rule", rule_id=rule.id)
    context = _form_context(request, rule, form)
    return _render(request, "form.html", {**context, "error": error}, status=status)


def _dry_run_rows(run: RuleDryRun | None) -> list[dict[str, Any]]:
    if run is None:
        return []
    rows = []
    for row in run.rows[:DRY_RUN_SHOWN]:
        try:
            when: datetime | None = datetime.fromisoformat(str(row.get("requested_at")))
        except ValueError:
            when = None
        rows.append({**row, "requested_at": when})
    return rows


def _rule_context(request: HttpRequest, rule: AfterSalesRule) -> dict[str, Any]:
    run = rule_dry_run_latest(rule)
    shops = {s.id: s.name for s in shop_account_list(request.user)}
    return {
        "rule": rule,
        "dry_run": run,
        "dry_run_current": run is not None and run.rule_version == rule.version,
        "dry_run_rows": _dry_run_rows(run),
        "dry_run_days": DRY_RUN_DAYS,
        "shops": shops,
        "rule_shops": [shops.get(i, f"#{i}") for i in rule.shop_account_ids],
        "kind_labels": dict(CaseKind.choices),
        "applications": rule_applications(rule, limit=100),
        "tab": "rules",
    }


@rules_read
def rule_page(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get_for_supervisor(request.user, rule_id)
    return _render(request, "rule.html", _rule_context(request, rule))


def _rule_action(request: HttpRequest, rule_id: int, act: Any, done: str) -> HttpResponse:
    rule = rule_get_for_supervisor(request.user, rule_id)
    if request.method != "POST":
        return redirect("inbox:rule", rule_id=rule.id)
    try:
        act(rule)
    except ServiceError as exc:
        error, status = _refused(exc)
        rule.refresh_from_db()
        context = {**_rule_context(request, rule), "error": error}
        return _render(request, "rule.html", context, status=status)
    messages.success(request, done)
    return redirect("inbox:rule", rule_id=rule.id)


@rules_page
def rule_dry_run_page(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_action(
        request,
        rule_id,
        lambda rule: rule_dry_run(actor=request.user, rule_id=rule.id),
        _("Dry run done."),
    )


@rules_page
def rule_enable_page(request: HttpRequest, rule_id: int) -> HttpResponse:
    confirm = request.POST.get("confirm") in ("on", "1", "true")
    return _rule_action(
        request,
        rule_id,
        lambda rule: rule_enable(actor=request.user, rule_id=rule.id, confirm=confirm),
        _("Rule enabled: it acts on requests from now on."),
    )


@rules_page
def rule_disable_page(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_action(
        request,
        rule_id,
        lambda rule: rule_disable(actor=request.user, rule_id=rule.id),
        _("Rule disabled."),
    )


@rules_page
def compensations_page(request: HttpRequest) -> HttpResponse:
    error, status, form = "", 200, {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in request.POST}
        try:
            raw_id = request.POST.get("suggestion", "")
            if raw_id:
                if not raw_id.isdigit() or len(raw_id) > 18:
                    raise NotFound("Suggestion not found.")
                data = {"is_active": request.POST.get("is_active", "")}
                compensation_update(actor=request.user, suggestion_id=int(raw_id), data=data)
            else:
                compensation_create(actor=request.user, data=request.POST)
        except ServiceError as exc:
            error, status = _refused(exc)
        else:
            messages.success(request, _("Suggestions saved."))
            return redirect("inbox:compensations")
    context = {
        "suggestions": compensation_list_for(request.user),
        "issue_types": IssueType.choices,
        "compensation_kinds": CompensationKind.choices,
        "form": form,
        "error": error,
        "tab": "compensations",
    }
    return _render(request, "compensations.html", context, status=status)
