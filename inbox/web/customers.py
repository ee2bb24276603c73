"""The customer profile pages (docs/customers.md): the list with its search as people type,
one profile (fields, tags, custom fields, notes, follow-ups, timeline, figures, risk tags,
merge and undo), and the organisation's custom field definitions.

Each view parses a plain form, calls one service or selector (``customers_actions`` maps a
profile form's ``action`` to its service), and renders. Outside the viewer's reach is the 404
page, a role that may not act the 403 page, a refused change the page again with the reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from inbox.masking import mask
from inbox.models import CustomerFieldKind
from inbox.selectors import member_for
from inbox.selectors import profiles as read
from inbox.services import profiles as work
from inbox.services.buyer_data.access import may_export_data
from inbox.web.customers_actions import PROFILE_ACTIONS, field_choices
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

PAGE_SIZE = 50

customers_page = signed_in_page("GET", "POST", never_cached=True)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    member = member_for(request.user)
    base = {"member": member, "nav": "customers"}
    return render(request, f"inbox/customers/{template}", {**base, **context}, status=status)


def _refused(exc: ServiceError) -> tuple[str, int]:
    if isinstance(exc, NotFound | Forbidden):
        raise exc
    return _(exc.message), exc.status_code  # services mark their messages gettext_noop


@customers_page
def customer_list_page(request: HttpRequest) -> HttpResponse:
    """Customers the viewer may see, newest first, or those matching ``q``; an htmx request
    (the search box, as people type) gets the results alone."""
    q = request.GET.get("q", "")[:100]
    before = int_param(request.GET.get("before"), minimum=1)
    rows = read.profile_search(request.user, q)
    if before:
        rows = rows.filter(id__lt=before)
    page = list(rows[: PAGE_SIZE + 1])
    for c in page:  # shown masked (the nickname as it is)
        c.phone_masked = mask("phone", c.phone)  # type: ignore[attr-defined]
        c.email_masked = mask("email", c.email)  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "q": q,
        "customers": page[:PAGE_SIZE],
        "next_before": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None,
    }
    if request.headers.get("HX-Request"):
        return _render(request, "_results.html", context)
    context["due"] = read.follow_ups_due_for(request.user)
    context["tab"] = "list"
    return _render(request, "list.html", context)


@customers_page
def customer_profile_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One profile; its forms post back here with an ``action``."""
    error, status = "", 200
    if request.method == "POST":
        act = PROFILE_ACTIONS.get(request.POST.get("action", ""))
        if act is None:
            error, status = _("Unknown action."), 400
        else:
            try:
                done = act(request, customer_id)
            except ServiceError as exc:
                error, status = _refused(exc)
            else:
                messages.success(request, done)
                return redirect("customers:profile", customer_id=customer_id)
    profile = read.profile_get(request.user, customer_id)
    page = int_param(request.GET.get("page"), minimum=1, maximum=1000) or 1
    timeline, more = read.profile_timeline(request.user, customer_id, page=page)
    member = member_for(request.user)
    return _render(
        request,
        "profile.html",
        {
            "profile": profile,
            "customer": profile.customer,
            "timeline": timeline,
            "page": page,
            "more": more,
            "may_merge": member.sees_all_shops,
            "may_export_data": may_export_data(request.user, customer_id),
            "error": error,
            "form": request.POST if error else {},
        },
        status=status,
    )


def _field_act(request: HttpRequest) -> str:
    action = request.POST.get("action", "")
    field_id = int_param(request.POST.get("field_id"), minimum=1)
    if action == "create":
        kind = request.POST.get("kind", "")
        work.customer_field_create(
            actor=request.user,
            key=request.POST.get("key", "").strip(),
            label=request.POST.get("label", ""),
            kind=kind,
            choices=field_choices(request.POST.get("choices", "")),
        )
        return _("Field added.")
    if field_id is None:
        raise ServiceError("Unknown field.", code="invalid")
    if action == "update":
        changes: dict[str, Any] = {"label": request.POST.get("label", "")}
        if "choices" in request.POST:
            changes["choices"] = field_choices(request.POST.get("choices", ""))
        work.customer_field_update(actor=request.user, field_id=field_id, changes=changes)
        return _("Field saved.")
    if action == "archive":
        work.customer_field_archive(actor=request.user, field_id=field_id)
        return _("Field archived: its values stay, hidden.")
    if action == "restore":
        work.customer_field_update(
            actor=request.user, field_id=field_id, changes={"is_active": True}
        )
        return _("Field restored.")
    raise ServiceError("Unknown action.", code="invalid")


@customers_page
def customer_fields_page(request: HttpRequest) -> HttpResponse:
    """The organisation's custom fields: supervisors and admins manage them (403 others)."""
    member = member_for(request.user)
    if not member.sees_all_shops:
        raise Forbidden("Only supervisors and admins manage customer fields.")
    error, status = "", 200
    if request.method == "POST":
        try:
            done = _field_act(request)
        except ServiceError as exc:
            error, status = _refused(exc)
        else:
            messages.success(request, done)
            return redirect("customers:fields")
    return _render(
        request,
        "fields.html",
        {
            "fields": read.customer_field_list(request.user),
            "kinds": CustomerFieldKind.choices,
            "tab": "fields",
            "error": error,
            "form": request.POST if error else {},
        },
        status=status,
    )
