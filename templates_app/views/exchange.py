"""Import and export of quick replies, and their usage."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from scrm.api import Forbidden, NotFound, ServiceError
from templates_app import exchange, selectors, services
from templates_app.forms import ImportForm
from templates_app.views._pages import USAGE_DAYS, choice, library_page, render_page


@library_page
def import_export(request: HttpRequest) -> HttpResponse:
    """Export the quick replies one manages (the API's files); import a file of them, all or
    nothing."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result: dict[str, Any] | None = None
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                rows = exchange.from_upload(form.cleaned_data["file"])
                result = services.quick_reply_import(actor=request.user, rows=rows)
                status = 200
            except exchange.ExchangeError as exc:
                errors.append(_("The file could not be read: %(reason)s") % {"reason": exc})
            except (Forbidden, NotFound):
                raise
            except ServiceError as exc:
                errors = _import_errors(exc)
    return render_page(
        request,
        "import_export.html",
        "exchange",
        {"form": form, "result": result, "errors": errors},
        status=status,
    )


def _import_errors(exc: ServiceError) -> list[str]:
    """One line per refused row (line numbers as a person counts them: the first row is 1)."""
    rows = (exc.details or {}).get("rows") or {}
    lines = []
    for index, problem in sorted(rows.items(), key=lambda item: int(item[0])):
        details = problem.get("details") or {}
        what = "; ".join(
            f"{field}: {' '.join(str(m) for m in messages)}"
            if isinstance(messages, list)
            else f"{field}: {messages}"
            for field, messages in details.items()
        )
        lines.append(_("Row %(row)s: %(problem)s") % {"row": int(index) + 1, "problem": what})
    return [_(exc.message), *lines]


@library_page
def usage(request: HttpRequest) -> HttpResponse:
    """Uses per quick reply and per person over the last days (supervisors and admins)."""
    days = int(choice(request.GET.get("days"), [str(d) for d in USAGE_DAYS], "30"))
    stats = selectors.quick_reply_stats(request.user, days=days)  # 403 for agents
    return render_page(
        request, "usage.html", "usage", {"stats": stats, "days": days, "choices": USAGE_DAYS}
    )
