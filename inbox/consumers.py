"""The inbox websocket: pushes the change feed's events to the members of each shop, to one
person, and to an organisation's supervisors and admins (``scrm.events``'s groups), each
payload shaped for the socket's person (``scrm.events.event_shape``, as the feed shapes it).

A hint, not the truth: every event carries the change feed's monotonic id, and a client that
reconnects asks ``/api/v1/events/?after=<last id>`` for what it missed.

Access is checked when the socket opens, at once when the user's access changes
(``inbox.access_changed``, sent by ``inbox.services.access.access_changed_notify``), and every
``SCRM_WS_RECHECK_SECONDS`` (changes made outside the app). The same timer re-joins the socket's
groups, so the channel layer's group expiry never drops an idle socket, and refreshes the user's
presence. A re-check also re-scopes the groups: a person made a supervisor joins
``org.<id>.supervisors`` at once, one made an agent leaves it and the shops they lost.
Close codes: ``inbox.selectors.access``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from inbox.selectors import event_last_id
from inbox.selectors.access import (
    CLOSE_NOT_ALLOWED,
    CLOSE_NOT_SIGNED_IN,
    SocketAccess,
    socket_access,
)
from inbox.services.presence import presence_connect, presence_disconnect, presence_touch
from scrm.api import ServiceError
from scrm.events import Viewer, event_shape, shop_group, supervisors_group, user_group

logger = logging.getLogger(__name__)


def _session_state(user: Any, session_key: str | None) -> tuple[SocketAccess, int]:
    """(access, the change feed's last id) for a socket opening: the same rule the re-checks
    apply (``socket_access``), so what would close an open socket also refuses a new one."""
    access = socket_access(user_id=user.pk, session_key=session_key)
    if access.close_code is not None:
        return access, 0
    return access, event_last_id(user)


def _groups(user_id: int, access: SocketAccess) -> set[str]:
    """The groups a socket of ``user_id`` belongs in, given its access now."""
    groups = {user_group(user_id), *(shop_group(s) for s in access.shop_ids)}
    if access.supervisor and access.viewer is not None:
        groups.add(supervisors_group(access.viewer.organisation_id))
    return groups


class InboxConsumer(AsyncJsonWebsocketConsumer):
    user_id: int | None = None
    session_key: str | None = None
    viewer: Viewer | None = None
    joined: set[str]
    _timer: asyncio.Task[None] | None = None
    _released = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The channel layer's receive can fail (Redis gone); the server then closes the socket
        # without a websocket.disconnect, so disconnect() would never run: release here too.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.joined = set()
        # Accept before refusing, so the browser sees the close code (a refusal before accept
        # is an HTTP 403 the page cannot tell from a network error, and it would retry).
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        session_key = self.scope["session"].session_key
        try:
            access, last_id = await database_sync_to_async(_session_state)(user, session_key)
            refused = access.close_code
        except ServiceError:
            refused = CLOSE_NOT_ALLOWED
        if refused is not None:
            await self.accept()
            await self.close(code=refused)
            return
        self.user_id = user.pk
        self.session_key = session_key
        self.viewer = access.viewer
        # The user's own group first: a join/leave or access change sent while connecting is
        # not lost.
        await self._join({user_group(user.pk)})
        await self._join(_groups(user.pk, access) - self.joined)
        await self.accept()
        await database_sync_to_async(presence_connect)(user_id=user.pk)
        self._timer = asyncio.create_task(self._recheck_timer())
        hello = {
            "last_event_id": last_id,
            "shops": access.shop_ids,
            "ping_seconds": settings.SCRM_WS_CLIENT_PING_SECONDS,
        }
        await self.send_json({"type": "hello", "data": hello})

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The browser's ping tells it the path is alive (it cannot see protocol pings); access
        # and presence are kept by the timer and by access-change messages, not by pings.
        if isinstance(content, dict) and content.get("type") == "ping" and self.user_id:
            await self.send_json({"type": "pong"})

    # --- messages from the channel layer ------------------------------------------------------
    async def dispatch(self, message: dict[str, Any]) -> None:
        """An event to show goes straight to its handler, which touches no database. channels'
        own dispatch first closes stale database connections (since 4.2, for every message),
        a hop to the one thread Django's views run in: every event on every socket waited for
        that thread, behind the page requests, and the hops were a twentieth of the server's
        samples in the soak at 100 messages/s. So do several events carried together
        (``inbox.events``). Every other message keeps channels' dispatch;
        the handlers that read the database go through ``database_sync_to_async``, which
        closes stale connections itself."""
        kind = message.get("type")
        if kind == "inbox.event":
            await self.inbox_event(message)
        elif kind == "inbox.events":
            await self.inbox_events(message)
        else:
            await super().dispatch(message)

    async def inbox_events(self, message: dict[str, Any]) -> None:
        """Several events of one group in one message (``scrm.events.bundled``): each shown
        as if it had come alone, in order."""
        for event in message["events"]:
            await self._show(event)

    async def inbox_event(self, message: dict[str, Any]) -> None:
        await self._show(message["event"])

    async def _show(self, event: dict[str, Any]) -> None:
        if self._released or self.viewer is None:  # nothing after an access check closed it
            return
        try:
            data = event_shape(event["type"], event["data"], self.viewer)
        except Exception as exc:  # a shaper's bug withholds the event (the feed answers an error)
            # The exception's name only: its message could quote the payload (personal data).
            logger.error("event %s not shaped for a socket: %s", event["type"], type(exc).__name__)
            return
        await self.send_json({"id": event["id"], "type": event["type"], "data": data})

    async def inbox_join(self, message: dict[str, Any]) -> None:
        await self._join({shop_group(message["shop_account_id"])})

    async def inbox_leave(self, message: dict[str, Any]) -> None:
        group = shop_group(message["shop_account_id"])
        await self.channel_layer.group_discard(group, self.channel_name)
        self.joined.discard(group)

    async def inbox_access_changed(self, message: dict[str, Any]) -> None:
        await self._recheck()

    async def inbox_recheck(self, message: dict[str, Any]) -> None:
        if await self._recheck():
            await database_sync_to_async(presence_touch)(user_id=self.user_id)

    # --- internals ----------------------------------------------------------------------------
    async def _recheck(self) -> bool:
        """Close the socket if its user may no longer use it, else re-scope and re-join its
        groups (a re-join renews the membership's expiry in the channel layer). A socket
        already closed by an earlier check stays closed: a second change told to it (two
        notifications of one deactivation) neither re-checks nor closes it again."""
        if self.user_id is None or self._released:
            return False
        access = await database_sync_to_async(socket_access)(
            user_id=self.user_id, session_key=self.session_key
        )
        if access.close_code is not None:
            await self._release()
            await self.close(code=access.close_code)
            return False
        self.viewer = access.viewer  # a role change shapes the next events for the new role
        wanted = _groups(self.user_id, access)
        for group in self.joined - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined -= self.joined - wanted
        await self._join(wanted)
        return True

    async def _join(self, groups: set[str]) -> None:
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    async def _recheck_timer(self) -> None:
        """Ask this socket to re-check itself through its own channel, so the check runs in
        order with every other message it handles (never beside a join or a leave)."""
        period = settings.SCRM_WS_RECHECK_SECONDS
        while True:
            # Spread over 80-100 % of the period: sockets opened together (after a deploy)
            # do not all ask the database at the same moment.
            await asyncio.sleep(period * random.uniform(0.8, 1.0))  # noqa: S311 - not crypto
            try:
                await self.channel_layer.send(self.channel_name, {"type": "inbox.recheck"})
            except Exception:  # Redis away for a moment: try again next period
                logger.warning("websocket re-check could not be queued", exc_info=True)

    async def _release(self) -> None:
        """Leave every group and count the socket out of presence, once."""
        if self._released:
            return
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
        for group in list(getattr(self, "joined", ())):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # the layer may be what failed; its group expiry cleans up
                logger.warning("websocket could not leave %s", group, exc_info=True)
        self.joined = set()
        if self.user_id is not None:
            await database_sync_to_async(presence_disconnect)(user_id=self.user_id)
