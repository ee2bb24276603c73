"""A signed-in websocket client on the real ASGI app (Channels' WebsocketCommunicator), as a
browser page on http://localhost would open it."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from scrm.asgi import application


async def session_cookie(user: Any) -> str:
    client = Client()
    await sync_to_async(client.force_login)(user)
    return client.cookies["sessionid"].value


async def connect(
    user: Any = None,
    *,
    origin: bytes | None = b"http://localhost",
    host: bytes | None = b"localhost",
    scheme: str = "ws",
    session_key: str | None = None,
) -> tuple[WebsocketCommunicator, bool]:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if host is not None:
        headers.append((b"host", host))
    if user is not None and session_key is None:
        session_key = await session_cookie(user)
    if session_key is not None:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
    communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect()
    if not connected:
        # A refused handshake's app waits for the client to go away: let it end here, not
        # when the test's event loop is torn down (channels-redis's receive, cancelled then,
        # can hang the teardown in services mode).
        await communicator.disconnect()
        await _pump_stopped()
    return communicator, connected


async def _pump_stopped() -> None:
    """With no socket of the test left receiving, the Redis layer's receive pump is stopped
    in the test's own loop, as a server process stops it at its end: the loop's teardown
    cancels it once and waits (a pump cancelled while connecting then waited out redis-py's 5 s
    close, ~5.5 s a test)."""
    stop = getattr(get_channel_layer(), "receive_pump_stop", None)
    if stop is not None:
        await stop(idle_only=True)


async def hello(communicator: WebsocketCommunicator) -> dict[str, Any]:
    message = await communicator.receive_json_from(timeout=2)
    assert message["type"] == "hello", message
    return message


async def hello_socket(user: Any) -> WebsocketCommunicator:
    """A socket of ``user``, accepted and past its hello."""
    communicator, connected = await connect(user)
    assert connected
    await hello(communicator)
    return communicator


async def _first(
    communicator: WebsocketCommunicator, wanted: Any, timeout: float
) -> dict[str, Any] | None:
    """The first output that ``wanted`` accepts, or the close if it comes first (others
    skipped); None if neither within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        # Polled, not awaited with a timeout: the communicator cancels the app on a timeout.
        if communicator.output_queue.empty():
            await asyncio.sleep(0.02)
            continue
        output = await communicator.receive_output(timeout=1)
        if output["type"] == "websocket.close" or wanted(output):
            return output
    return None


async def close_code(communicator: WebsocketCommunicator, timeout: float = 2) -> int | None:
    """The code the server closed the socket with (events before it are skipped), or None if it
    is still open after ``timeout`` seconds."""
    output = await _first(communicator, lambda _: False, timeout)
    if output is None:
        return None
    # The server closed it; its app still waits for the client to go away (as after a refused
    # handshake, in ``connect``): let it end here, not in the test loop's teardown, where a
    # channels-redis receive cancelled once hung a CI run for the timeout's 300 s.
    await communicator.disconnect()
    await _pump_stopped()
    return int(output.get("code", 1000))


async def first_output(
    communicator: WebsocketCommunicator, wanted: Any, timeout: float = 1
) -> dict[str, Any] | None:
    """The first output ``wanted(output)`` accepts within ``timeout`` seconds (others skipped),
    or None — also when the socket closes first."""
    output = await _first(communicator, wanted, timeout)
    return output if output is not None and output["type"] != "websocket.close" else None


async def nothing_arrives(communicator: WebsocketCommunicator, timeout: float = 0.3) -> bool:
    return await communicator.receive_nothing(timeout=timeout, interval=0.02)
