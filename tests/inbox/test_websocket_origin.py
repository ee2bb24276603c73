"""Websocket refusals: the Origin check compares scheme, host and port (refused at the
handshake), and a socket that may not be served is closed with its documented code."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from inbox.selectors.access import CLOSE_NOT_ALLOWED, CLOSE_NOT_SIGNED_IN
from scrm.ws_origin import origin_allowed
from tests.inbox.ws_client import close_code, connect, hello

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _hosts(settings):
    settings.ALLOWED_HOSTS = ["localhost", "inbox.example.com"]
    settings.SCRM_PUBLIC_URL = "https://inbox.example.com"
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.seller.example", "https://admin.example.net:8443"]


async def test_the_page_s_own_origin_is_accepted(world):
    socket, ok = await connect(world.agent_a1, origin=b"http://localhost", host=b"localhost")
    assert ok
    await hello(socket)
    await socket.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "why"),
    [
        (b"https://localhost", b"localhost", "ws", "page on https, socket on plain ws"),
        (b"http://localhost", b"localhost", "wss", "page on http, socket on wss"),
        (b"http://localhost:8080", b"localhost", "ws", "another port on the same host"),
        (b"http://localhost", b"localhost:8000", "ws", "the default port against 8000"),
        (b"http://evil.example", b"localhost", "ws", "another host"),
        (b"http://inbox.example.com", b"inbox.example.com", "wss", "public URL without TLS"),
        (b"https://x.seller.example:444", b"localhost", "ws", "trusted wildcard, other port"),
        (b"http://x.seller.example", b"localhost", "ws", "trusted wildcard, other scheme"),
        (b"null", b"localhost", "ws", "an opaque origin (sandboxed frame, file:)"),
        (None, b"localhost", "ws", "no Origin at all"),
        (b"http://localhost", b"evil.example", "ws", "a Host outside ALLOWED_HOSTS"),
    ],
)
async def test_a_wrong_scheme_host_or_port_is_refused_at_the_handshake(
    world, origin, host, scheme, why
):
    _, ok = await connect(world.agent_a1, origin=origin, host=host, scheme=scheme)
    assert not ok, why


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://inbox.example.com", "inbox.example.com", "wss"),  # own origin behind TLS
        ("https://inbox.example.com", "10.0.0.5:8000", "ws"),  # SCRM_PUBLIC_URL via a proxy
        ("https://inbox.example.com:443", None, "ws"),  # default port written out
        ("https://shop1.seller.example", None, "ws"),  # CSRF_TRUSTED_ORIGINS wildcard
        ("https://admin.example.net:8443", None, "ws"),  # exact trusted origin with its port
        ("http://localhost:8000", "localhost:8000", "ws"),  # own origin on a port
    ],
)
async def test_allowed_origins(origin, host, scheme):
    assert origin_allowed(origin=origin, scheme=scheme, host=host)


async def test_not_signed_in_is_closed_with_4401(world):
    socket, ok = await connect(None)
    assert ok  # accepted only so that the page sees the code (a 403 looks like a network error)
    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN


async def test_a_user_of_no_organisation_is_closed_with_4403(world):
    from tests.factories import UserFactory

    stranger = await sync_to_async(UserFactory)()
    socket, ok = await connect(stranger)
    assert ok
    assert await close_code(socket) == CLOSE_NOT_ALLOWED


async def test_a_stale_session_cookie_is_closed_with_4401(world):
    socket, ok = await connect(session_key="no-such-session-key-000000000000")
    assert ok
    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN


async def test_behind_a_tls_proxy_the_forwarded_scheme_counts(world, settings):
    # Given a proxy that terminates TLS and says so in the header Django trusts
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SCRM_PUBLIC_URL = "http://127.0.0.1:8000"  # not what lets it through
    from tests.inbox.ws_client import session_cookie

    key = await session_cookie(world.agent_a1)

    async def attempt(origin: bytes, forwarded: bytes | None) -> bool:
        from channels.testing import WebsocketCommunicator

        from scrm.asgi import application

        headers = [(b"origin", origin), (b"host", b"localhost")]
        headers.append((b"cookie", f"sessionid={key}".encode()))
        if forwarded is not None:
            headers.append((b"x-forwarded-proto", forwarded))
        communicator = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
        ok, _ = await communicator.connect()
        await communicator.disconnect()
        return ok

    # Then an https page is accepted only when the proxy says the socket came over TLS,
    # and a plain-http page is refused then
    assert await attempt(b"https://localhost", b"https")
    assert not await attempt(b"https://localhost", None)
    assert not await attempt(b"http://localhost", b"https")
