"""The person's own account pages: sign-in with a second factor, API tokens, two-factor set-up.

Each view parses the form, calls one service or selector, and renders. The pages need no
JavaScript (plain forms), so they work under the Content-Security-Policy as they are.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from inbox.auth import token_state
from inbox.selectors.accounts import member_for
from inbox.selectors.tokens import token_list
from inbox.selectors.two_factor import two_factor_device, two_factor_required
from inbox.services.signin import (
    signin_success_record,
    two_factor_confirm,
    two_factor_disable,
    two_factor_start,
    two_factor_verify,
)
from inbox.services.tokens import (
    NAME_MAX_LENGTH,
    token_create,
    token_revoke,
    token_rotate,
    tokens_revoke_all,
)
from inbox.web.middleware import VERIFIED_SESSION_KEY
from scrm.api import Forbidden, NotFound, ServiceError

PENDING_SESSION_KEY = "scrm_two_factor_pending"


def _member_or_none(request: HttpRequest) -> Any:
    """For the navigation (a user of no organisation still has these pages)."""
    try:
        return member_for(request.user)
    except Forbidden:
        return None


# Wrong codes allowed for one password: then the password is asked again.
PENDING_MAX_TRIES = 5


def _mark_verified(request: HttpRequest, device: Any) -> None:
    django_otp.login(request, device)
    request.session[VERIFIED_SESSION_KEY] = True


class SignInView(LoginView):
    """Step one, the password (django-axes counts failures through ``authenticate()``). A user
    with two-factor sign-in on is not signed in yet: the session remembers who passed the
    password, for a few minutes, and the code page finishes the sign-in."""

    template_name = "registration/login.html"

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if two_factor_device(user) is None:
            response = super().form_valid(form)
            signin_success_record(user=user, via=_via(self.request), second_factor=False)
            return response
        self.request.session.cycle_key()
        self.request.session[PENDING_SESSION_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "hash": user.get_session_auth_hash(),
            "at": time.time(),
            "next": self.get_success_url(),
            "tries": 0,
        }
        return redirect("login-verify")


def _via(request: HttpRequest) -> str:
    return "admin" if request.path.startswith("/admin/") else "page"


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > settings.SCRM_TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    user = (
        get_user_model().objects.filter(pk=int(pending.get("user_id") or 0), is_active=True).first()
    )
    # A password changed since step one ends the pending sign-in too.
    if user is None or not constant_time_compare(
        user.get_session_auth_hash(), str(pending.get("hash"))
    ):
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    return user, pending


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signin_verify(request: HttpRequest) -> HttpResponse:
    """Step two: the code of the authenticator app. Wrong codes count as failed sign-ins
    (lockout, audit log); after a few, the password is asked again."""
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Sign in again, please."))
        return redirect("login")
    user, pending = found
    error = ""
    if request.method == "POST":
        device = two_factor_verify(user=user, code=request.POST.get("code", ""))
        if device is not None:
            request.session.pop(PENDING_SESSION_KEY, None)
            login(request, user, backend=pending["backend"])
            _mark_verified(request, device)
            signin_success_record(user=user, via="page", second_factor=True)
            return redirect(pending["next"])
        user_login_failed.send(
            sender=__name__,
            credentials={"username": user.get_username(), "scrm_reason": "otp"},
            request=request,
        )
        pending["tries"] = int(pending.get("tries", 0)) + 1
        if pending["tries"] >= PENDING_MAX_TRIES:
            request.session.pop(PENDING_SESSION_KEY, None)
            messages.error(request, _("Too many wrong codes. Sign in again, please."))
            return redirect("login")
        request.session[PENDING_SESSION_KEY] = pending
        error = _("That code is not right. Enter the 6 digits your app shows now.")
    return render(
        request,
        "registration/login_verify.html",
        {"error": error},
        status=400 if error else 200,
    )


# --- API tokens ------------------------------------------------------------------------------


def _token_rows(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"token": t, "state": token_state(t)} for t in token_list(request.user)]


def _tokens_page(
    request: HttpRequest, *, new_key: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    response = render(
        request,
        "inbox/account_tokens.html",
        {
            "nav": "tokens",
            "member": _member_or_none(request),
            "rows": _token_rows(request),
            "new_key": new_key,
            "error": error,
            "name_max": NAME_MAX_LENGTH,
            "default_days": settings.SCRM_API_TOKEN_DAYS,
            "max_days": settings.SCRM_API_TOKEN_MAX_DAYS,
        },
        status=status,
    )
    # A page that may carry a key is never cached.
    response["Cache-Control"] = "no-store"
    return response


def _days(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ServiceError(
            gettext_noop("Give the lifetime in days."), code="invalid_lifetime"
        ) from None


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """The person's API tokens: make, rotate, revoke, and "log out everywhere"."""
    if request.method == "GET":
        return _tokens_page(request)
    action = request.POST.get("action", "")
    try:
        if action == "create":
            token, key = token_create(
                user=request.user,
                name=request.POST.get("name", ""),
                expires_in_days=_days(request.POST.get("days")),
            )
            return _tokens_page(request, new_key=key)
        if action == "rotate":
            token, key = token_rotate(user=request.user, token_id=request.POST.get("token"))
            return _tokens_page(request, new_key=key)
        if action == "revoke":
            token = token_revoke(user=request.user, token_id=request.POST.get("token"))
            messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
            return redirect("account:tokens")
        if action == "logout_everywhere":
            ended = tokens_revoke_all(user=request.user)
            logout(request)
            messages.success(
                request,
                _("Logged out everywhere: %(sessions)s sessions ended, %(tokens)s tokens revoked.")
                % ended,
            )
            return redirect("login")
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        return _tokens_page(request, error=_(exc.message), status=400)
    return _tokens_page(request, error=_("Unknown action."), status=400)


# --- two-factor set-up -----------------------------------------------------------------------


def _qr_svg(uri: str) -> str:
    # One fixed mask: any of the eight is valid for a scanner, and trying all eight to pick the
    # "best" was most of this page's time.
    code = qrcode.QRCode(
        box_size=10, border=2, mask_pattern=0, image_factory=qrcode.image.svg.SvgPathImage
    )
    code.add_data(uri)
    code.make(fit=True)
    svg = code.make_image().to_string(encoding="unicode")
    # Our own drawing of our own URI (no user text in it): safe to inline.
    return mark_safe(svg)  # noqa: S308


@sensitive_post_parameters("code")
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in on (secret, QR code, confirm with a code) or off (with a code)."""
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        code = request.POST.get("code", "")
        try:
            if action == "confirm":
                device = two_factor_confirm(
                    user=request.user, code=code, keep_session_key=request.session.session_key
                )
                _mark_verified(request, device)
                messages.success(request, _("Two-factor sign-in is on."))
                return redirect("home")
            if action == "disable":
                two_factor_disable(user=request.user, code=code)
                request.session.pop(VERIFIED_SESSION_KEY, None)
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("account:two-factor")
            error = _("Unknown action.")
        except ServiceError as exc:
            error = _(exc.message)
    device = two_factor_device(request.user)
    context: dict[str, Any] = {
        "nav": "two-factor",
        "member": _member_or_none(request),
        "enabled": device is not None,
        "required": two_factor_required(request.user),
        "error": error,
    }
    if device is None:
        pending = two_factor_start(user=request.user)
        context["secret"] = base64.b32encode(pending.bin_key).decode().rstrip("=")
        context["uri"] = pending.config_url
        context["qr"] = _qr_svg(pending.config_url)
    response = render(
        request, "inbox/account_two_factor.html", context, status=400 if error else 200
    )
    response["Cache-Control"] = "no-store"
    return response
