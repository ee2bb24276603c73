"""Signing in and the signed-in person of each request.

Every request of a signed-in person reads them (Django's ``ModelBackend.get_user``) and then,
in ``UserTimezoneMiddleware``, their organisation membership (``member_for``): two reads and
two ORM compiles before any view runs. ``ModelBackend`` here reads both, with the
organisation, in one statement compiled once (``read_compiled``), and leaves the member on the
user as ``member_for`` would.

Sessions signed in before this backend name Django's (``LEGACY_BACKEND``);
``AuthenticationMiddleware`` moves them to this one on their next request, and the
websockets read them as this one (``websocket_auth_stack``), so nobody is signed out by the
change. (Rolling back to a release before it signs out whoever made a request since: their
sessions name a backend the old release does not know.)
"""

from __future__ import annotations

import functools
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, backends, get_user_model
from django.contrib.auth import middleware as auth_middleware
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

BACKEND = "scrm.auth.ModelBackend"
LEGACY_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ModelBackend(backends.ModelBackend):
    """Django's ``ModelBackend`` (passwords, permissions, active users only) whose
    ``get_user`` brings the person's membership and organisation in the same read."""

    def get_user(self, user_id: Any) -> Any:
        user = user_with_member(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> Any:
        return await sync_to_async(self.get_user)(user_id)


@functools.cache
def _columns() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The three models' columns (their metadata does not change in a running process; every
    signed-in request reads them)."""
    from inbox.models import Member, Organisation

    user_model = get_user_model()
    return (
        tuple(f.attname for f in user_model._meta.concrete_fields),
        tuple(f.attname for f in Member._meta.concrete_fields),
        tuple(f.attname for f in Organisation._meta.concrete_fields),
    )


def _query(user_id: int) -> Any:
    users, members, orgs = _columns()
    return (
        get_user_model()
        .objects.filter(pk=user_id)
        .values_list(
            *users,
            *(f"member__{m}" for m in members),
            *(f"member__organisation__{o}" for o in orgs),
        )
    )


def user_with_member(user_id: Any) -> Any:
    """The user of ``user_id`` (None when there is none) with their ``Member`` and its
    ``Organisation`` attached (``member_for`` then reads nothing): one read."""
    from inbox.models import Member, Organisation
    from scrm.compiled import read_compiled

    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    rows = read_compiled("scrm.auth.user_with_member", _query, pk)
    if not rows:
        return None
    users, members, orgs = _columns()
    row = rows[0]
    a, b = len(users), len(users) + len(members)
    user = get_user_model().from_db("default", users, row[:a])
    if row[a] is not None:  # the member's id: a person of no organisation has none
        member = Member.from_db("default", members, row[a:b])
        member.organisation = Organisation.from_db("default", orgs, row[b:])
        user.member = member  # the relation's cache both ways (nothing saved)
        setattr(user, "_scrm_member", member)  # noqa: B010 - member_for's own cache
    return user


def _upgrade_session(session: Any) -> None:
    if session is not None and session.get(BACKEND_SESSION_KEY) == LEGACY_BACKEND:
        session[BACKEND_SESSION_KEY] = BACKEND


def _upgrade_legacy_session(request: HttpRequest) -> None:
    _upgrade_session(getattr(request, "session", None))


def _user(request: HttpRequest) -> Any:
    _upgrade_legacy_session(request)
    return auth_middleware.get_user(request)


async def _auser(request: HttpRequest) -> Any:
    session = getattr(request, "session", None)
    if session is not None and await session.aget(BACKEND_SESSION_KEY) == LEGACY_BACKEND:
        await session.aset(BACKEND_SESSION_KEY, BACKEND)
    return await auth_middleware.auser(request)


def websocket_auth_stack(inner: Any) -> Any:
    """Channels' ``AuthMiddlewareStack`` for the websockets, with a session naming Django's
    own backend read as naming ``BACKEND`` (in memory: the next page request saves it), so an
    open tab's socket reconnecting after the release is not refused before any page loads."""
    from channels.auth import AuthMiddleware
    from channels.sessions import CookieMiddleware, SessionMiddleware

    return CookieMiddleware(SessionMiddleware(_LegacySessions(AuthMiddleware(inner))))


class _LegacySessions:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        from channels.db import database_sync_to_async

        session = scope.get("session")
        if session is not None:
            await database_sync_to_async(_upgrade_session)(session)
        return await self.inner(scope, receive, send)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with sessions of Django's own backend moved to ``BACKEND`` when first read."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(partial(_user, request))  # type: ignore[assignment]
        request.auser = partial(_auser, request)
