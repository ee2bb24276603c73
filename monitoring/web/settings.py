"""The SLA settings pages, under /sla/: the organisation's policy and each shop's override
(/sla/policies/), each shop's business calendar with the due-time preview (/sla/calendars/).

Supervisors and admins only: for anyone else, and for a shop of another organisation, the
pages do not exist (404). Each view parses a plain form, calls one service or selector and
renders; a refused change is the page again with the reason beside its field and everything
typed kept. ``static/monitoring/sla_settings.js`` only adds conveniences (the custom minutes
field follows the first-reply choice); the preview refreshes through the vendored htmx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from inbox.services.organisation import time_zone_names
from monitoring.services.sla_settings import (
    calendar_save,
    holiday_add,
    holiday_remove,
    holidays_import_ical,
    sla_manager,
    sla_policy_revert,
    sla_policy_save,
)
from monitoring.services.sla_values import holiday_date, policy_values_clean, policy_values_of
from monitoring.sla.settings_selectors import (
    calendar_detail,
    calendar_rows,
    due_preview_rows,
    organisation_policy,
    shop_policy,
    shop_policy_rows,
    shop_zone,
)
from monitoring.web.settings_forms import (
    FIRST_REPLY_PRESETS,
    arrival_parse,
    policy_form,
    policy_post,
    week_form,
    week_post,
    week_typed,
    weekdays,
)
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

if TYPE_CHECKING:
    from inbox.models import ShopAccount

settings_page = signed_in_page("GET", "POST", never_cached=True)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    member = sla_manager(request.user)
    base = {"member": member, "nav": "sla-settings"}
    return render(request, f"monitoring/settings/{template}", {**base, **context}, status=status)


def _posted(
    request: HttpRequest, act: Callable[[], str], then: str, **kwargs: Any
) -> tuple[HttpResponse | None, dict[str, Any]]:
    """A POST: ``act`` makes the change and says what it did (shown after the redirect to
    ``then``); a refusal is the page again (its ``error``, the ``error_field`` it names and its
    ``status``). NotFound and Forbidden stay the 404 and 403 pages."""
    if request.method != "POST":
        return None, {"status": 200}
    try:
        done = act()
    except ServiceError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        field = exc.details.get("field", "")
        return None, {"error": _(exc.message), "error_field": field, "status": exc.status_code}
    messages.success(request, done)
    return redirect(then, **kwargs), {}


# --- policies ------------------------------------------------------------------------------
@settings_page
def policies_page(request: HttpRequest) -> HttpResponse:
    """The organisation's policy (its form) and every shop: following it, or its own (each
    shop's buttons post to its own page)."""
    sla_manager(request.user)

    def act() -> str:
        sla_policy_save(
            actor=request.user,
            shop_account_id=None,
            values=policy_values_clean(policy_post(request.POST)),
        )
        return _("The organisation's SLA policy is saved.")

    done, state = _posted(request, act, "sla:policies")
    if done is not None:
        return done
    policy = organisation_policy(request.user)
    form = request.POST if state.get("error") else policy_form(policy)
    return _render(
        request,
        "policies.html",
        {
            "tab": "policies",
            "policy": policy,
            "form": form,
            "presets": FIRST_REPLY_PRESETS,
            "rows": shop_policy_rows(request.user),
            **state,
        },
        status=state["status"],
    )


@settings_page
def shop_policy_page(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """One shop's targets: follow the organisation's, or its own (create, edit, revert)."""
    row = shop_policy(request.user, shop_account_id)

    def act() -> str:
        action = request.POST.get("action", "")
        if action == "revert":
            sla_policy_revert(actor=request.user, shop_account_id=row.shop.pk)
            return _("The shop follows the organisation's SLA policy again.")
        if action == "override":
            values = policy_values_of(organisation_policy(request.user))
            sla_policy_save(actor=request.user, shop_account_id=row.shop.pk, values=values)
            return _("The shop has its own targets now, copied from the organisation's.")
        values = policy_values_clean(policy_post(request.POST))
        sla_policy_save(actor=request.user, shop_account_id=row.shop.pk, values=values)
        return _("The shop's own SLA policy is saved.")

    done, state = _posted(request, act, "sla:shop-policy", shop_account_id=row.shop.pk)
    if done is not None:
        return done
    organisation = organisation_policy(request.user)
    shown = row.override or organisation
    form = request.POST if state.get("error") else policy_form(shown)
    return _render(
        request,
        "shop_policy.html",
        {
            "tab": "policies",
            "row": row,
            "shop": row.shop,
            "organisation_policy": organisation,
            "policy": shown,
            "form": form,
            "presets": FIRST_REPLY_PRESETS,
            **state,
        },
        status=state["status"],
    )


# --- calendars -----------------------------------------------------------------------------
@settings_page
@require_GET
def calendars_page(request: HttpRequest) -> HttpResponse:
    """Every shop with its time zone and working week in a line."""
    return _render(
        request, "calendars.html", {"tab": "calendars", "rows": calendar_rows(request.user)}
    )


def _calendar_act(request: HttpRequest, shop_account_id: int) -> str:
    """Do one action of the calendar page; the sentence that says it was done."""
    action = request.POST.get("action", "")
    actor = request.user
    if action == "holiday_add":
        day = holiday_date(request.POST.get("date"))
        holiday_add(
            actor=actor, shop_account_id=shop_account_id, day=day, name=request.POST.get("name", "")
        )
        return _("Holiday added: %(date)s.") % {"date": day.isoformat()}
    if action == "holiday_remove":
        holiday_id = int_param(request.POST.get("holiday"), minimum=1) or 0
        holiday_remove(actor=actor, shop_account_id=shop_account_id, holiday_id=holiday_id)
        return _("Holiday removed.")
    if action == "ical":
        upload = request.FILES.get("ical")
        data = upload.read(2 * 1024 * 1024) if upload is not None else b""
        result = holidays_import_ical(actor=actor, shop_account_id=shop_account_id, data=data)
        return _("Holidays imported: %(added)d added, %(skipped)d skipped (already there).") % {
            "added": result.added,
            "skipped": result.skipped,
        }
    calendar_save(
        actor=actor,
        shop_account_id=shop_account_id,
        time_zone=request.POST.get("time_zone", ""),
        working_hours=week_post(request.POST),
    )
    return _("Time zone and working hours saved.")


def _preview(request: HttpRequest, shop: ShopAccount) -> dict[str, Any]:
    """The due-time preview for ``?arrival=`` (shop time; now when none or unreadable)."""
    zone = shop_zone(shop)
    arrival, arrival_error = arrival_parse(request.GET.get("arrival"), zone)
    if arrival is None:
        arrival = timezone.now().astimezone(zone).replace(second=0, microsecond=0)
    return {
        "arrival": arrival,
        "arrival_value": arrival.strftime("%Y-%m-%dT%H:%M"),
        "arrival_error": arrival_error,
        "rows": due_preview_rows(request.user, shop.pk, arrival),
        "shop_zone": zone.key,
    }


@settings_page
def calendar_page(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """One shop's time zone, working week and holidays, beside the due-time preview for an
    arrival time the supervisor types (``?arrival=``, shop time). An htmx request for the
    preview gets the preview alone."""
    detail = calendar_detail(request.user, shop_account_id)
    shop = detail.shop
    done, state = _posted(
        request,
        lambda: _calendar_act(request, shop.pk),
        "sla:calendar",
        shop_account_id=shop.pk,
    )
    if done is not None:
        return done
    preview = _preview(request, shop)
    if request.headers.get("HX-Request") and request.method == "GET":
        return _render(request, "_preview.html", {"shop": shop, "preview": preview})
    posted_week = bool(state.get("error")) and request.POST.get("action", "save") == "save"
    week = week_typed(request.POST) if posted_week else week_form(detail.working_hours)
    return _render(
        request,
        "calendar.html",
        {
            "tab": "calendars",
            "shop": shop,
            "holidays": detail.holidays,
            "time_zones": time_zone_names(),
            "time_zone": request.POST.get("time_zone", shop.time_zone)
            if posted_week
            else shop.time_zone,
            "week": list(zip(weekdays(), week, strict=True)),
            "form": request.POST if state.get("error") else {},
            "preview": preview,
            **state,
        },
        status=state["status"],
    )
