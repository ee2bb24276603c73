"""The inbox websocket: pushes the change feed's events to the members of each shop.

A hint, not the truth: every event carries the change feed's monotonic id, and a client that
reconnects asks ``/api/v1/events/?after=<last id>`` for what it missed.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from inbox.selectors import event_last_id, shop_account_ids_for
from inbox.services.events import shop_group, user_group
from inbox.services.presence import presence_connect, presence_disconnect, presence_touch
from scrm.api import ServiceError


def _session_state(user: Any) -> tuple[list[int], int]:
    return shop_account_ids_for(user), event_last_id(user)


def _still_allowed(user_id: int) -> list[int] | None:
    """The user's shops now, or None if the user may no longer use the inbox at all."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(id=user_id, is_active=True).first()
    if user is None:
        return None
    try:
        return shop_account_ids_for(user)
    except ServiceError:
        return None


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        self.user_id: int | None = None
        self.joined: set[str] = set()
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        try:
            shops, last_id = await database_sync_to_async(_session_state)(user)
        except ServiceError:
            await self.close(code=4403)
            return
        self.user_id = user.pk
        # The user's own group first: a join/leave sent while connecting is not lost.
        for group in [user_group(user.pk), *(shop_group(s) for s in shops)]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)
        await self.accept()
        await database_sync_to_async(presence_connect)(user_id=user.pk)
        await self.send_json({"type": "hello", "data": {"last_event_id": last_id, "shops": shops}})

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.user_id is not None:
            await database_sync_to_async(presence_disconnect)(user_id=self.user_id)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping" and self.user_id:
            # Access is re-checked on every ping: a deactivated, removed or demoted user stops
            # receiving what they may no longer see.
            shops = await database_sync_to_async(_still_allowed)(self.user_id)
            if shops is None:
                await self.close(code=4403)
                return
            wanted = {user_group(self.user_id), *(shop_group(s) for s in shops)}
            for group in self.joined - wanted:
                await self.channel_layer.group_discard(group, self.channel_name)
            for group in wanted - self.joined:
                await self.channel_layer.group_add(group, self.channel_name)
            self.joined = wanted
            await database_sync_to_async(presence_touch)(user_id=self.user_id)
            await self.send_json({"type": "pong"})

    # --- messages from the channel layer ------------------------------------------------------
    async def inbox_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def inbox_join(self, message: dict[str, Any]) -> None:
        group = shop_group(message["shop_account_id"])
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.add(group)

    async def inbox_leave(self, message: dict[str, Any]) -> None:
        group = shop_group(message["shop_account_id"])
        await self.channel_layer.group_discard(group, self.channel_name)
        self.joined.discard(group)
