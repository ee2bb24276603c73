"""The page of a buyer's data on request: ``/customers/<id>/data/`` shows the export as a
readable page (times in the viewer's zone) with its JSON download, and, for admins, the
erasure form (the customer's id typed again, and a reason). Thin: the services decide who may
(docs/customer-data.md); viewing the page is an export, audited as one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from inbox.models import Role
from inbox.selectors.accounts import member_for
from inbox.services.buyer_data import customer_erase, customer_export
from inbox.services.buyer_data.export import export_counts
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page

app_name = "buyer_data"


def _times(value: Any, key: str = "") -> Any:
    """The document with its ISO times as datetimes (the template shows them in the viewer's
    zone)."""
    if isinstance(value, dict):
        return {k: _times(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    if isinstance(value, str) and key.endswith("_at") and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _erase(request: HttpRequest, customer_id: int) -> tuple[str, int]:
    """The erasure form posted: "" and 0 when done, else the refusal and its status."""
    if request.POST.get("confirm", "").strip() != str(customer_id):
        return _("Type the customer's id to confirm the erasure."), 400
    try:
        customer_erase(
            actor=request.user, customer_id=customer_id, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        return _(exc.message), exc.status_code
    return "", 0


@signed_in_page("GET", "POST", never_cached=True)
def customer_data_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Everything held about one buyer, and (admins) their erasure."""
    error, status = "", 200
    if request.method == "POST":
        error, status = _erase(request, customer_id)
        if not error:
            messages.success(request, _("The buyer's data was erased."))
            return redirect("buyer_data:customer-data", customer_id=customer_id)
    document = customer_export(actor=request.user, customer_id=customer_id)
    context = {
        "doc": _times(document),
        "counts": export_counts(document),
        "customer_id": customer_id,
        "is_admin": member_for(request.user).role == Role.ADMIN,
        "error": error,
        "reason": request.POST.get("reason", "")[:500] if error else "",
    }
    return render(request, "inbox/customers/data.html", context, status=status)


urlpatterns = [
    path("<int:customer_id>/data/", customer_data_page, name="customer-data"),
]
