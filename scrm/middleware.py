"""Our middleware: times in the viewer's own time zone (Member.time_zone, UTC otherwise), and
the browser security headers of every response."""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from inbox.selectors import member_for
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
