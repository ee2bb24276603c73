"""API tokens and signed-in sessions: make, rotate and revoke tokens, and "log out everywhere".

Every write is one transaction with its audit event (the organisation's audit log, or the
operators' security log for a user of no organisation). A token's key is returned once, by the
service that makes it, and never stored: only its SHA-256 digest is.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.auth import password_fingerprint, token_digest
from inbox.models import ApiToken, Member, SignInSession
from inbox.services.access import access_changed_notify
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from monitoring.models import SecurityEvent
from scrm.api import NotFound, ServiceError

KEY_PREFIX = "scrm_"
PREFIX_LENGTH = 12  # "scrm_" and 7 characters of the secret: tells tokens apart, unusable alone
NAME_MAX_LENGTH = 100


def account_record(
    *, user: Any, actor: Any, action: str, target: Any = None, data: Any = None
) -> None:
    """Record an event about a person's own credentials: in their organisation's audit log, or
    (a user of no organisation, e.g. a bare superuser) in the operators' security log."""
    org_id = Member.objects.filter(user_id=user.pk).values_list("organisation_id", flat=True)
    organisation_id = org_id.first()
    if organisation_id is not None:
        audit_record(
            organisation_id=organisation_id,
            actor=actor,
            action=action,
            target=target,
            data=data,
            ip=request_address(),
        )
    else:
        SecurityEvent.objects.create(kind=action, user_id=user.pk, data=data or {})


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(gettext_noop("Give the token a name."), code="invalid_name")
    if len(name) > NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise ServiceError(
            gettext_noop("A token name is at most 100 printable characters."), code="invalid_name"
        )
    return name


def _lifetime(days: int | None) -> timedelta:
    if days is None:
        days = settings.SCRM_API_TOKEN_DAYS
    if not 1 <= days <= settings.SCRM_API_TOKEN_MAX_DAYS:
        raise ServiceError(
            gettext_noop("That token lifetime is not allowed."),
            code="invalid_lifetime",
            details={"min_days": 1, "max_days": settings.SCRM_API_TOKEN_MAX_DAYS},
        )
    return timedelta(days=days)


def _new_token(*, user: Any, name: str, lifetime: timedelta) -> tuple[ApiToken, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user_id=user.pk,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_digest=token_digest(key),
        password_fingerprint=password_fingerprint(user),
        expires_at=timezone.now() + lifetime,
    )
    return token, key


@transaction.atomic
def token_create(
    *, user: Any, name: str, expires_in_days: int | None = None, via: str = "page"
) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns it and its key, which is shown this once.

    Keeps: only the key's digest and display prefix are stored; the token ends at its expiry,
    on revocation, or when the user's password changes.
    """
    token, key = _new_token(user=user, name=_clean_name(name), lifetime=_lifetime(expires_in_days))
    account_record(
        user=user,
        actor=user,
        action="token.created",
        target=token,
        data={"via": via, "expires_at": token.expires_at.isoformat()},
    )
    return token, key


def _own_token(user: Any, token_id: Any) -> ApiToken:
    try:
        return ApiToken.objects.select_for_update().get(pk=int(token_id), user_id=user.pk)
    except (ApiToken.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound("Token not found.") from None


@transaction.atomic
def token_rotate(*, user: Any, token_id: Any) -> tuple[ApiToken, str]:
    """Replace one of the user's tokens: a new key under the same name and lifetime, the old
    token revoked in the same transaction. Someone else's token is NotFound."""
    old = _own_token(user, token_id)
    if old.revoked_at is not None:
        raise ServiceError(
            gettext_noop("This token is revoked already."), code="token_revoked", status_code=409
        )
    now = timezone.now()
    lifetime = max(old.expires_at - old.created_at, timedelta(days=1))
    old.revoked_at = now
    old.save(update_fields=["revoked_at"])
    token, key = _new_token(user=user, name=old.name, lifetime=lifetime)
    account_record(
        user=user,
        actor=user,
        action="token.rotated",
        target=token,
        data={"replaces": old.pk},
    )
    return token, key


@transaction.atomic
def token_revoke(*, user: Any, token_id: Any) -> ApiToken:
    """Revoke one of the user's tokens at once (idempotent). Someone else's is NotFound."""
    token = _own_token(user, token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        account_record(user=user, actor=user, action="token.revoked", target=token)
    return token


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


@transaction.atomic
def tokens_revoke_all(*, user: Any, actor: Any = None) -> dict[str, int]:
    """ "Log out everywhere": revoke every token of the user, end every session they signed in
    (in whichever engine holds it: database, or cache and database), and make their open
    websockets re-check their access (they close, their session being gone).

    Returns how many tokens and sessions ended.
    """
    now = timezone.now()
    tokens = ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    keys = list(SignInSession.objects.filter(user_id=user.pk).values_list("session_key", flat=True))
    store = _session_store()
    for key in keys:
        store(session_key=key).delete()
    SignInSession.objects.filter(user_id=user.pk).delete()
    account_record(
        user=user,
        actor=actor if actor is not None else user,
        action="sessions.ended_everywhere",
        target=None,
        data={"tokens": tokens, "sessions": len(keys)},
    )
    access_changed_notify(user_ids=[user.pk])
    return {"tokens": tokens, "sessions": len(keys)}


def session_record(*, user: Any, session_key: str | None) -> None:
    """Remember a session the user signed in (called at every sign-in, whatever the path); old
    rows of sessions that cannot be alive any more are dropped on the way."""
    if not session_key:
        return
    cutoff = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    SignInSession.objects.filter(user_id=user.pk, created_at__lt=cutoff).delete()
    SignInSession.objects.get_or_create(session_key=session_key, defaults={"user_id": user.pk})


def session_forget(*, session_key: str | None) -> None:
    """Forget a session at log-out (the engine deletes the session itself)."""
    if session_key:
        SignInSession.objects.filter(session_key=session_key).delete()


def sessions_end_others(*, user: Any, keep_session_key: str | None) -> int:
    """End every signed-in session of the user but one (used when two-factor sign-in is turned
    on: sessions made without the code end)."""
    rows = SignInSession.objects.filter(user_id=user.pk).exclude(session_key=keep_session_key or "")
    keys = list(rows.values_list("session_key", flat=True))
    store = _session_store()
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    if keys:
        access_changed_notify(user_ids=[user.pk])
    return len(keys)
