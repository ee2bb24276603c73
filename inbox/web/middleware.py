"""Supervisors and admins of an organisation that requires two-factor sign-in set it up before
anything else."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from inbox.selectors.two_factor import two_factor_device, two_factor_required
from scrm.api import error_response

# Set in the session when it was signed in with a second factor (or set one up).
VERIFIED_SESSION_KEY = "scrm_two_factor_verified"
# Reachable before the set-up: the set-up page itself, signing out, the language switch, static.
_OPEN_PREFIXES = ("/account/two-factor/", "/logout/", "/login/", "/i18n/", "/static/")


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.session.get(VERIFIED_SESSION_KEY)
            and not request.path.startswith(_OPEN_PREFIXES)
            # The member is read already (UserTimezoneMiddleware): no query unless required.
            and two_factor_required(user)
        ):
            if two_factor_device(user) is not None:
                # A session made without the code (before the device existed elsewhere, or by
                # a path that skipped it): sign in again, with the code.
                logout(request)
                return redirect(f"{reverse('login')}?{urlencode({'next': request.path})}")
            if request.path.startswith("/api/"):
                return error_response(
                    "two_factor_setup_required",
                    "Your organisation requires two-factor sign-in: set it up first.",
                    403,
                )
            return redirect("account:two-factor")
        return self.get_response(request)
