"""What an open inbox socket may still receive: asked when it opens, when its user's access
changes (``inbox.services.access.access_changed_notify``) and on a timer.

Close codes (docs/api.md, "Websocket"):

* ``4401`` — not signed in: no session, or the session is gone or no longer matches the user
  (signed out, "log out everywhere", password changed). Sign in again.
* ``4403`` — no longer allowed: the user is deactivated or deleted, or belongs to no
  organisation. Reconnecting will not help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.crypto import constant_time_compare

from inbox.selectors.accounts import member_for, shop_account_ids_for
from inbox.selectors.two_factor import VERIFIED_SESSION_KEY, two_factor_required
from scrm.api import ServiceError
from scrm.events import Viewer

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_ALLOWED = 4403


@dataclass(frozen=True)
class SocketAccess:
    """``close_code`` set: close the socket with it. Else ``shop_ids``: the shops it may see;
    ``viewer``: who its events are shaped for; ``supervisor``: whether it receives its
    organisation's supervisors' events (a supervisor or an admin)."""

    close_code: int | None = None
    shop_ids: list[int] = field(default_factory=list)
    viewer: Viewer | None = None
    supervisor: bool = False


def _session_data(session_key: str | None) -> dict:
    if not session_key:
        return {}
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key).load()


def session_still_valid(*, session_key: str | None, user: AbstractBaseUser) -> bool:
    """Whether the session a socket opened with still signs in ``user``.

    Read only (unlike ``django.contrib.auth.get_user``, which would flush or re-key the
    session): the session must exist, name this user, and carry the hash of the user's current
    password (or of one made with a fallback secret key), as Django checks on every request.
    """
    return _signs_in(_session_data(session_key), user)


def _signs_in(data: dict, user: AbstractBaseUser) -> bool:
    if str(data.get(SESSION_KEY, "")) != str(user.pk):
        return False
    stored = data.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored, h) for h in hashes)


def socket_access(*, user_id: int, session_key: str | None) -> SocketAccess:
    """Whether an open socket of ``user_id`` may stay open, and which shops it may see now.

    Keeps: an inactive, deleted or organisation-less user gets 4403; a session that no longer
    signs the user in, or that skipped the second factor the organisation requires of the user,
    gets 4401 (as the pages send such a session to sign in or set it up); otherwise the shops
    are exactly ``shop_account_ids_for``, and ``supervisor`` is exactly "sees every shop"
    (``Member.sees_all_shops``), the rule the change feed applies to supervisors' events.
    """
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return SocketAccess(close_code=CLOSE_NOT_ALLOWED)
    data = _session_data(session_key)
    if not _signs_in(data, user):
        return SocketAccess(close_code=CLOSE_NOT_SIGNED_IN)
    if not data.get(VERIFIED_SESSION_KEY) and two_factor_required(user):
        return SocketAccess(close_code=CLOSE_NOT_SIGNED_IN)
    try:
        shop_ids = shop_account_ids_for(user)
        member = member_for(user)  # remembered on the user by shop_account_ids_for: no query
    except ServiceError:
        return SocketAccess(close_code=CLOSE_NOT_ALLOWED)
    viewer = Viewer(user_id=user.pk, organisation_id=member.organisation_id, role=member.role)
    return SocketAccess(shop_ids=shop_ids, viewer=viewer, supervisor=member.sees_all_shops)
