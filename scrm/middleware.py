"""Show times in the viewer's own time zone (Member.time_zone), UTC otherwise."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from inbox.selectors import member_for
from scrm.api import Forbidden


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
