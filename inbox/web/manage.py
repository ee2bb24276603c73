"""Where supervisors and admins run their organisation in the product: its shop accounts, its
people, its settings (the page where an invited person joins: ``manage_join``).

Each view parses a plain form, calls one service or selector, and renders (no JavaScript
needed; ``static/inbox/manage.js`` only adds a copy button). Who may do what is decided in
the selectors and services: outside one's organisation is a 404, a role that may not use a
page a 403, a refused change the page again with the reason (400, 409 or 410).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from inbox.models import AssignmentMode, Role
from inbox.selectors import member_for, shop_account_list
from inbox.selectors.people import (
    admin_member,
    invitation_list,
    person_get,
    person_list,
    two_factor_missing_count,
)
from inbox.selectors.reveal import person_reveal_shop_ids
from inbox.selectors.shop_health import (
    HEALTH_WINDOW,
    shop_for_admin,
    shop_health_get,
    shop_health_list,
)
from inbox.selectors.two_factor import two_factor_device
from inbox.services.invitations import (
    email_configured,
    invitation_create,
    invitation_days,
    invitation_revoke,
)
from inbox.services.organisation import organisation_update, time_zone_names
from inbox.services.people import (
    person_deactivate,
    person_reactivate,
    person_role_change,
    person_shops_set,
)
from inbox.services.reveal import person_reveal_set
from inbox.services.shop_accounts import (
    shop_account_connect,
    shop_account_disconnect,
    shop_account_update,
)
from scrm.api import Forbidden, NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

View = Callable[..., HttpResponse]


# Signed in, GET or POST; the selectors' and services' NotFound and Forbidden become the 404
# and 403 pages. Never cached (the pages show links and settings that change).
manage_page = signed_in_page("GET", "POST", never_cached=True)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    member = member_for(request.user)
    base = {
        "member": member,
        "is_admin": member.role == Role.ADMIN,
        "nav": "manage",
    }
    return render(request, f"inbox/manage/{template}", {**base, **context}, status=status)


def _error(exc: ServiceError) -> str:
    # Services raise their messages marked for translation (gettext_noop).
    return _(exc.message)


def _form_posted(
    request: HttpRequest, act: Callable[[], str], then: str, **then_kwargs: Any
) -> tuple[HttpResponse | None, str, int]:
    """A page's form: on a POST, ``act`` makes the change and says what it did (shown after a
    redirect to the ``then`` route); a refusal it raises is the page again with the reason and
    its status (NotFound and Forbidden stay the 404 and 403 pages). Returns the redirect (or
    None: render the page), the error and the status."""
    if request.method != "POST":
        return None, "", 200
    try:
        done = act()
    except ServiceError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        return None, _error(exc), exc.status_code
    messages.success(request, done)
    return redirect(then, **then_kwargs), "", 200


def _ids(values: list[str]) -> list[int]:
    ids = [int_param(v, minimum=1) for v in values]
    if any(i is None for i in ids):
        raise ServiceError(gettext_noop("Unknown shop account."), code="invalid_shop")
    return [i for i in ids if i is not None]


def _checked(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("on", "1", "true")


@login_required
@require_GET
def manage_home(request: HttpRequest) -> HttpResponse:
    """Settings: supervisors and admins start at the shop accounts, agents at the
    organisation (the one page they may read)."""
    try:
        member = member_for(request.user)
    except Forbidden as exc:
        raise PermissionDenied(str(exc)) from None
    return redirect("inbox:manage-shops" if member.sees_all_shops else "inbox:manage-organisation")


# --- shop accounts ----------------------------------------------------------------------------
@manage_page
@require_GET
def shops_page(request: HttpRequest) -> HttpResponse:
    """Every shop account with its health; admins connect a shop from here."""
    return _render(
        request,
        "shops.html",
        {"tab": "shops", "rows": shop_health_list(request.user), "window": HEALTH_WINDOW.days},
    )


@sensitive_post_parameters("app_secret", "auth_code")
@manage_page
def shop_connect(request: HttpRequest) -> HttpResponse:
    """Connect the shops of a TikTok Shop authorisation (admins)."""
    admin_member(request.user)

    def connect() -> str:
        shops = shop_account_connect(
            actor=request.user,
            app_key=request.POST.get("app_key", ""),
            app_secret=request.POST.get("app_secret", ""),
            auth_code=request.POST.get("auth_code", ""),
        )
        return _("Connected: %(names)s.") % {"names": ", ".join(s.name for s in shops)}

    done, error, status = _form_posted(request, connect, "inbox:manage-shops")
    if done is not None:
        return done
    return _render(
        request,
        "shop_connect.html",
        {
            "tab": "shops",
            "error": error,
            "app_key": request.POST.get("app_key", "")[:200],
            "simulator": settings.SCRM_SIMULATOR_ENABLED,
        },
        status=status,
    )


@manage_page
def shop_page(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """One shop account: its health, and its settings (admins change them)."""
    health = shop_health_get(request.user, shop_account_id)

    def save() -> str:
        shop_account_update(
            actor=request.user,
            shop_account_id=shop_account_id,
            name=request.POST.get("name", ""),
            time_zone=request.POST.get("time_zone", ""),
            assignment_mode=request.POST.get("assignment_mode", ""),
        )
        return _("Shop account saved.")

    done, error, status = _form_posted(
        request, save, "inbox:manage-shop", shop_account_id=shop_account_id
    )
    if done is not None:
        return done
    return _render(
        request,
        "shop.html",
        {
            "tab": "shops",
            "health": health,
            "error": error,
            "time_zones": time_zone_names(),
            "modes": AssignmentMode.choices,
            "form": request.POST if request.method == "POST" else None,
            "window": HEALTH_WINDOW.days,
        },
        status=status,
    )


@manage_page
def shop_disconnect(request: HttpRequest, shop_account_id: int) -> HttpResponse:
    """Confirm, then disconnect a shop account (admins)."""
    shop = shop_for_admin(request.user, shop_account_id)
    if request.method == "POST":
        shop_account_disconnect(actor=request.user, shop_account_id=shop_account_id)
        messages.success(request, _("%(name)s is disconnected.") % {"name": shop.name})
        return redirect("inbox:manage-shop", shop_account_id=shop_account_id)
    return _render(request, "shop_disconnect.html", {"tab": "shops", "shop": shop})


# --- people -----------------------------------------------------------------------------------
def _people_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "tab": "people",
        "people": person_list(request.user),
        "invitations": invitation_list(request.user),
        "shops": list(shop_account_list(request.user)),
        "roles": Role.choices,
        "days": invitation_days(),
        "email_configured": email_configured(),
        "now": timezone.now(),
    }


@sensitive_post_parameters("email")
@manage_page
def people_page(request: HttpRequest) -> HttpResponse:
    """Everyone of the organisation and its pending invitations; invite, revoke (admins)."""
    context = _people_context(request)
    if request.method == "GET":
        return _render(request, "people.html", context)
    action = request.POST.get("action", "")
    try:
        if action == "invite":
            new = invitation_create(
                actor=request.user,
                email=request.POST.get("email", ""),
                role=request.POST.get("role", ""),
                shop_account_ids=_ids(request.POST.getlist("shops")),
                site_url=request.build_absolute_uri("/"),
            )
            return _render(request, "people.html", {**_people_context(request), "new": new})
        if action == "revoke":
            invitation_id = int_param(request.POST.get("invitation"), minimum=1)
            if invitation_id is None:
                raise NotFound("Invitation not found.")
            invitation_revoke(actor=request.user, invitation_id=invitation_id)
            messages.success(request, _("Invitation withdrawn: its link no longer works."))
            return redirect("inbox:manage-people")
        raise ServiceError(gettext_noop("Unknown action."), code="invalid_action")
    except ServiceError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        form = {
            "email": request.POST.get("email", "")[:254],
            "role": request.POST.get("role", ""),
            "shops": request.POST.getlist("shops"),
        }
        return _render(
            request,
            "people.html",
            {**context, "error": _error(exc), "form": form},
            status=exc.status_code,
        )


@manage_page
def person_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """One person: role, shop access, deactivate or reactivate (admins)."""
    person = person_get(request.user, user_id)
    done, error, status = _form_posted(
        request,
        lambda: _person_act(request, user_id, request.POST.get("action", "")),
        "inbox:manage-person",
        user_id=user_id,
    )
    if done is not None:
        return done
    return _render(
        request,
        "person.html",
        {
            "tab": "people",
            "person": person,
            "is_self": person.member.user_id == request.user.pk,
            "roles": Role.choices,
            "shops": list(shop_account_list(request.user)),
            "shop_ids": {s.pk for s in person.shops},
            "reveal_ids": person_reveal_shop_ids(request.user, user_id),
            "error": error,
        },
        status=status,
    )


def _person_act(request: HttpRequest, user_id: int, action: str) -> str:
    """Do one action of the person page; the sentence that says it was done."""
    actor = request.user
    if action == "role":
        person_role_change(actor=actor, user_id=user_id, role=request.POST.get("role", ""))
        return _("Role changed. It applies at once, on open pages too.")
    if action == "shops":
        ids = _ids(request.POST.getlist("shops"))
        person_shops_set(actor=actor, user_id=user_id, shop_account_ids=ids)
        return _("Shop access saved. It applies at once, on open pages too.")
    if action == "reveal":
        ids = _ids(request.POST.getlist("reveal"))
        person_reveal_set(actor=actor, user_id=user_id, shop_account_ids=ids)
        return _("Customer data permission saved.")
    if action == "deactivate":
        person_deactivate(actor=actor, user_id=user_id)
        return _("Deactivated: signed out everywhere, and can no longer sign in.")
    if action == "reactivate":
        person_reactivate(actor=actor, user_id=user_id)
        return _("Reactivated: can sign in again.")
    raise ServiceError(gettext_noop("Unknown action."), code="invalid_action")


# --- the organisation -------------------------------------------------------------------------
@manage_page
def organisation_page(request: HttpRequest) -> HttpResponse:
    """The organisation's settings: everyone reads them, admins change them."""
    member = member_for(request.user)

    def save() -> str:
        organisation_update(
            actor=request.user,
            name=request.POST.get("name", ""),
            time_zone=request.POST.get("time_zone", ""),
            language=request.POST.get("language", ""),
            require_two_factor=_checked(request, "require_two_factor"),
            assign_on_reply=_checked(request, "assign_on_reply"),
        )
        return _("Organisation settings saved.")

    done, error, status = _form_posted(request, save, "inbox:manage-organisation")
    if done is not None:
        return done
    return _render(
        request,
        "organisation.html",
        {
            "tab": "organisation",
            "organisation": member.organisation,
            "time_zones": time_zone_names(),
            "language_choices": settings.LANGUAGES,
            "own_two_factor": two_factor_device(request.user) is not None,
            "missing_two_factor": two_factor_missing_count(request.user),
            "form": request.POST if request.method == "POST" else None,
            "error": error,
        },
        status=status,
    )
