"""Receivers of Django's sign-in signals. Each only calls one service: the signals are the one
place every sign-in path (the login page, the admin, the token API) passes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from inbox.services.access import access_changed_notify
from inbox.services.signin import signin_failure_record, signout_record
from inbox.services.tokens import session_forget, session_record
from inbox.web.middleware import RECORDED_SESSION_KEY
from scrm.signin import client_ip


def _via(request: Any) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "page"


@receiver(user_login_failed, dispatch_uid="inbox.signin_failed")
def _signin_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # Set by scrm.signin.LockoutHandler, which axes's own receiver (connected first) runs.
    if getattr(request, "scrm_refused_by_lockout", False):
        # Refused by the lockout before the password was even checked: the failures that
        # caused it are recorded; a flood of attempts against a locked name adds nothing.
        return
    signin_failure_record(
        name=credentials.get("username"),
        reason=str(credentials.get("scrm_reason") or "password"),
        via=_via(request),
        ip_address=client_ip(request) if request is not None else None,
    )


@receiver(user_logged_in, dispatch_uid="inbox.session_record")
def _signed_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session_record(user=user, session_key=session.session_key)
        session[RECORDED_SESSION_KEY] = session.session_key


@receiver(user_logged_out, dispatch_uid="inbox.session_forget")
def _signed_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session_forget(session_key=session.session_key)
    if user is not None:
        signout_record(user=user)
        # The signed-out session's sockets (other tabs) re-check once it is gone.
        access_changed_notify(user_ids=[user.pk])
