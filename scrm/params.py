"""Query parameters that cannot reach a database, a URL or ``int()`` and fail there.

Two rules hold for every request, API and page alike:

- ``RejectMalformedQueryMiddleware``: a NUL anywhere in the query string is a 400 (the error
  envelope for the API, the error page otherwise). PostgreSQL refuses NUL in text ("A string
  literal cannot contain NUL"), so one such parameter handed to a filter was a 500 there and
  silently fine on SQLite. Django decodes query strings with replacement characters, so no
  lone surrogate gets this far.
- ``int_param``: a number parameter is ASCII digits within a range. ``"²".isdigit()`` is true
  and ``int("²")`` fails; ``9999999999`` minutes overflow a ``timedelta``; an id beyond 64 bits
  overflows a PostgreSQL ``bigint``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

MAX_ID = 2**63 - 1  # PostgreSQL bigint
_DIGITS = re.compile(r"[0-9]{1,19}")


def int_param(
    raw: str | None, *, default: int | None = None, minimum: int = 0, maximum: int = MAX_ID
) -> int | None:
    """``raw`` as an int in [minimum, maximum] if it is ASCII digits (a leading ``-`` allowed
    when ``minimum`` is negative); ``default`` for anything else."""
    if raw is None:
        return default
    text = raw.strip()
    negative = text.startswith("-") and minimum < 0
    digits = text[1:] if negative else text
    if not _DIGITS.fullmatch(digits):
        return default
    value = -int(digits) if negative else int(digits)
    return value if minimum <= value <= maximum else default


def has_nul(request: HttpRequest) -> bool:
    return "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )


class RejectMalformedQueryMiddleware:
    """A request whose path or query string carries a NUL gets a 400, before any view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul(request):
            from scrm.views import bad_request

            return bad_request(request)
        return self.get_response(request)
