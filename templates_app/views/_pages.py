"""What every library page shares: the sign-in and error wrapper, the page frame, the scopes a
person may choose, the query-string helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inbox.selectors.for_apps import ActingMember, ShopRef, acting_member, shops_for
from scrm.pages import signed_in_page
from templates_app.models import Scope

View = Callable[..., HttpResponse]
PAGE_SIZE = 50
STATUSES = ("active", "archived", "all")
USAGE_DAYS = (7, 30, 90)


# Signed in, GET or POST, never cached; NotFound and Forbidden become the 404 and 403 pages.
library_page = signed_in_page("GET", "POST", never_cached=True)


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
