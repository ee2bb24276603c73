"""What every library page shares: the sign-in and error wrapper, the page frame, the scopes a
person may choose, the query-string helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from inbox.selectors.for_apps import ActingMember, ShopRef, acting_member, shops_for
from scrm.api import Forbidden, NotFound
from templates_app.models import Scope

View = Callable[..., HttpResponse]
PAGE_SIZE = 50
STATUSES = ("active", "archived", "all")
USAGE_DAYS = (7, 30, 90)


def library_page(view: View) -> View:
    """Signed in, GET or POST, never cached; the selectors' and services' NotFound and
    Forbidden become the 404 and 403 pages."""

    @login_required
    @never_cache
    @require_http_methods(["GET", "POST"])
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None

    return wrapper


def render_page(
    request: HttpRequest, template: str, tab: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    member = acting_member(request.user)
    return render(
        request,
        f"templates_app/{template}",
        {"nav": "quick-replies", "tab": tab, "member": member, **context},
        status=status,
    )


def scopes_for(member: ActingMember) -> list[str]:
    if member.sees_all_shops:
        return [Scope.ORGANISATION, Scope.TEAM, Scope.PERSONAL]
    return [Scope.PERSONAL]


def team_shops(request: HttpRequest, member: ActingMember) -> list[ShopRef]:
    # Only supervisors and admins give items to teams
    return shops_for(request.user) if member.sees_all_shops else []


def choice(value: str | None, allowed: tuple[str, ...] | list[str], default: str = "") -> str:
    return value if value is not None and value in allowed else default


def cursor_from(raw: str | None) -> tuple[int, int] | None:
    """``<usage>.<id>`` of the last row shown; anything else starts at the first page."""
    usage, _, last_id = (raw or "").partition(".")
    if usage.isdigit() and last_id.isdigit() and len(raw or "") <= 40:
        return int(usage), int(last_id)
    return None


def back_to(request: HttpRequest, default: str) -> str:
    """Where a row's button returns to: the list it was pressed in (same site paths only)."""
    back = request.POST.get("next", "")
    if back.startswith("/quick-replies/") and "//" not in back and "\\" not in back:
        return back
    return default
