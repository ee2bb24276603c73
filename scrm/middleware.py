"""Our middleware: times in the viewer's own time zone (Member.time_zone, UTC otherwise), the
interface in the viewer's own language, and the browser security headers of every response."""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from inbox.selectors import member_for
from inbox.selectors.accounts import language_for
from scrm.api import Forbidden
from scrm.images import csp_image_sources


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tz_name = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # member_for remembers the member on the user for the rest of the request, so the
            # view's own member_for costs no second query.
            try:
                tz_name = member_for(user).time_zone
            except Forbidden:  # a user of no organisation (a bare superuser)
                tz_name = None
        if tz_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz_name))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class UserLanguageMiddleware:
    """The signed-in person's language on every request, after ``LocaleMiddleware``: their own
    (``Member.language``, saved by the language menu), else their organisation's
    (``Organisation.language``). The browser's choice (the language cookie, then
    Accept-Language, as ``LocaleMiddleware`` reads them) applies only to nobody signed in and to
    users of no organisation.

    A signed-in session's response also sets the language cookie to that language (when it
    differs), so the pages before the next sign-in (the sign-in page after signing out) speak
    the person's language too. API calls with a token are authenticated inside the view, after
    this: they follow Accept-Language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_for(request.user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        # After the view: the person may have signed in (the sign-in page) or chosen another
        # language (the language menu) during this request.
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY):
            chosen = language_for(request.user)
            if chosen and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != chosen:
                _set_language_cookie(response, chosen)
        return response


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response.

    No inline script anywhere (``script-src 'self'``): the pages' JavaScript is static files,
    their data is ``json_script`` blocks; no inline style either. Images: our own, ``data:``
    (Swagger UI's icons) and the buyer image hosts of :mod:`scrm.images`. The websocket's
    origin is named in ``connect-src`` for browsers whose ``'self'`` does not cover ws/wss.

    With ``DEBUG`` on, Django's own error pages (tracebacks, the URL list of a 404) are inline
    styled and scripted: responses of 400 and above then go without the policy.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @staticmethod
    def policy_for(request: HttpRequest) -> str:
        """The policy for this request (built per request, a few microseconds: settings
        overridden in tests or by an operator's shell are seen at once)."""
        img = " ".join(["'self'", "data:", *csp_image_sources()])
        connect = "'self'"
        with contextlib.suppress(DisallowedHost):
            # Validated against ALLOWED_HOSTS and Django's host syntax: safe in a header.
            connect += f" {'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
        directives = [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {img}",
            "font-src 'self'",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
        if settings.SCRM_CSP_REPORT_URI:
            directives.append(f"report-uri {settings.SCRM_CSP_REPORT_URI}")
        return "; ".join(directives)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.SCRM_PERMISSIONS_POLICY)
        if not (settings.DEBUG and response.status_code >= 400):
            response.headers.setdefault("Content-Security-Policy", self.policy_for(request))
        return response
