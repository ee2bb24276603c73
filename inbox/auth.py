"""API token authentication: ``Authorization: Token <key>`` against hashed ApiToken rows.

The key is looked up by its SHA-256 digest (the database never holds the key); the token must be
unrevoked, unexpired, of an active user, and made under the user's current password. Its
"last used" time is written at most once a ``SCRM_API_TOKEN_TOUCH_SECONDS`` per token, with a
conditional update (concurrent requests write once).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from inbox.models import ApiToken

# Longer keys are refused before any hashing or query (ours are 48 characters).
MAX_KEY_LENGTH = 128
_FINGERPRINT_SALT = "scrm.inbox.ApiToken.password"


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def password_fingerprint(user: Any, secret: str | None = None) -> str:
    """A keyed hash of the user's password hash (what Django's session auth hash is): a new
    password, set anywhere, gives a new fingerprint."""
    return salted_hmac(
        _FINGERPRINT_SALT, user.password, secret=secret, algorithm="sha256"
    ).hexdigest()


def fingerprint_matches(user: Any, fingerprint: str) -> bool:
    """Under the current SECRET_KEY or one of its fallbacks (a key rotation ends no token until
    the fallback is dropped)."""
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        if hmac.compare_digest(password_fingerprint(user, secret), fingerprint):
            return True
    return False


def token_state(token: ApiToken, now: Any = None) -> str:
    """``active``, ``revoked``, ``expired`` or ``password_changed`` (its user's password is not
    the one it was made under)."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    if not fingerprint_matches(token.user, token.password_fingerprint):
        return "password_changed"
    return "active"


_REFUSALS = {
    "revoked": ("This token has been revoked.", "token_revoked"),
    "expired": ("This token has expired.", "token_expired"),
    "password_changed": (
        "This token ended when the password was changed.",
        "token_revoked",
    ),
}


def token_authenticate(key: str) -> ApiToken:
    """The valid token of this key, or AuthenticationFailed with a code saying why."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
    try:
        token = ApiToken.objects.select_related("user").get(key_digest=token_digest(key))
    except ApiToken.DoesNotExist:
        raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token") from None
    now = timezone.now()
    state = token_state(token, now)
    if state != "active":
        message, code = _REFUSALS[state]
        raise exceptions.AuthenticationFailed(message, code=code)
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.", code="user_inactive")
    stale = now - timedelta(seconds=settings.SCRM_API_TOKEN_TOUCH_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        from django.db.models import Q

        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


class ApiTokenAuthentication(TokenAuthentication):
    """DRF authentication with our hashed tokens; the header keeps DRF's ``Token <key>`` form.

    A supervisor or admin whose organisation requires two-factor sign-in and who has no
    confirmed device is refused too (code ``two_factor_setup_required``), as the pages send them
    to the set-up page first.
    """

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        try:
            return super().authenticate(request)
        except UnicodeEncodeError:
            # A header string no HTTP peer can send (not latin-1): a clear 401, not a 500.
            raise exceptions.AuthenticationFailed(
                "Invalid token header.", code="invalid_token"
            ) from None

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = token_authenticate(key)
        from inbox.selectors.two_factor import two_factor_setup_required

        if two_factor_setup_required(token.user):
            raise exceptions.AuthenticationFailed(
                "Your organisation requires two-factor sign-in: set it up on the two-factor "
                "page first.",
                code="two_factor_setup_required",
            )
        return token.user, token
