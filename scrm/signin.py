"""Sign-in protection shared by the login page, the admin and the token API.

* :func:`client_ip` — the client's address under ``SCRM_TRUSTED_PROXY_COUNT`` (one rule for DRF's
  throttles, django-axes and the logs);
* :func:`name_digest` / :func:`username_key` — names tried are kept as keyed hashes only;
* :class:`LockoutHandler` — django-axes's database handler with two limits: one per account and a
  higher one per address;
* :func:`lockout_response` — the clear answer to a locked-out sign-in: the login page again with
  a message, or the API's error envelope.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from scrm.api import error_response

LOCKED_CODE = "signin_locked"


def client_ip(request: HttpRequest) -> str:
    """The client's address: the socket's, or with N trusted proxies the N-th address from the
    right of X-Forwarded-For (each proxy appends the address it received from). Anything to the
    left of that was written by the client and is never trusted. Same rule as DRF's
    ``NUM_PROXIES``; a malformed entry falls back to the socket address."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count = settings.SCRM_TRUSTED_PROXY_COUNT
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            candidate = hops[-min(count, len(hops))]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return "0.0.0.0"  # noqa: S104 - a placeholder address (the test client has none)


def name_digest(name: str) -> str:
    """A keyed hash (HMAC-SHA256 under SECRET_KEY, 128 bits in hex) of a sign-in name, case
    folded: equal names match, the text is not kept."""
    return salted_hmac("scrm.signin.name", name.strip().casefold(), algorithm="sha256").hexdigest()[
        :32
    ]


def username_key(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """django-axes's name for an attempt (``AXES_USERNAME_CALLABLE``): the keyed hash, so axes's
    tables hold no typed text either."""
    raw = None
    if credentials:
        raw = credentials.get("username")
    if raw is None:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("username") if hasattr(data, "get") else None
    if raw is None:
        return None
    return name_digest(str(raw))


class LockoutHandler(AxesDatabaseHandler):
    """Axes's database handler with a limit per account (``SCRM_SIGNIN_FAILURE_LIMIT``) and a
    higher one per address (``SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT``).

    Axes compares one failure count with one limit; this handler reports the failures as
    ``max(by_account, by_address * account_limit // address_limit)``, which reaches the account
    limit exactly when either count reaches its own limit.
    """

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        by_name, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        account_limit = settings.SCRM_SIGNIN_FAILURE_LIMIT
        address_limit = settings.SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT
        return max(by_name, by_address * account_limit // address_limit)

    def user_login_failed(self, sender: Any, credentials: dict, request: Any = None, **kwargs: Any):
        if request is not None:
            # Whether the lock held before this attempt (the failure that causes a lockout is a
            # real one and is recorded; the tries made against a lock are not, one by one).
            request.scrm_refused_by_lockout = self.is_locked(request, credentials)
        return super().user_login_failed(sender, credentials, request, **kwargs)


def lockout_message() -> str:
    minutes = math.ceil(settings.SCRM_SIGNIN_COOLOFF_MINUTES)
    return _(
        "Too many failed sign-in attempts for this account or from this address. "
        "Try again in %(minutes)s minutes, or ask an admin to unlock it."
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes's lockout answer (``AXES_LOCKOUT_CALLABLE``): 429 with a clear message — the
    API's error envelope under /api/, else the login page showing the message."""
    retry = int(settings.SCRM_SIGNIN_COOLOFF_MINUTES * 60)
    if request.path.startswith("/api/"):
        response: HttpResponse = error_response(
            LOCKED_CODE, lockout_message(), 429, {"retry_after_seconds": retry}
        )
    else:
        from django.contrib.auth.forms import AuthenticationForm

        response = render(
            request,
            "registration/login.html",
            {"form": AuthenticationForm(request), "locked_out": lockout_message()},
            status=429,
        )
    response["Retry-After"] = str(retry)
    return response
