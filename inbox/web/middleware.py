"""Signed-in sessions: each session's current key is recorded against its user (so "log out
everywhere" finds it), and supervisors and admins of an organisation that requires two-factor
sign-in set it up before anything else."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from inbox.selectors.two_factor import (
    VERIFIED_SESSION_KEY,
    two_factor_device,
    two_factor_required,
)
from inbox.services.tokens import session_record

__all__ = ["VERIFIED_SESSION_KEY", "SignInSessionMiddleware", "TwoFactorRequiredMiddleware"]
from scrm.api import error_response

# The session key last recorded for this session (inbox.SignInSession).
RECORDED_SESSION_KEY = "scrm_recorded_session"
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


class SignInSessionMiddleware:
    """Records a signed-in session's key when it changes after sign-in (Django cycles the key on
    a password change of one's own, ``update_session_auth_hash``): sign-in itself is recorded
    by the ``user_logged_in`` receiver. Costs a dictionary lookup per request, and one write
    only when the key changed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is None or user is None or not user.is_authenticated:
            return response
        key = session.session_key
        if key and session.get(RECORDED_SESSION_KEY) != key:
            session_record(user=user, session_key=key)
            session[RECORDED_SESSION_KEY] = key
        return response
