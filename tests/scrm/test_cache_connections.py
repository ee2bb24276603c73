"""Served requests share the process's Redis connections (scrm/cache.py): reading a session
from the cache no longer opens a TCP connection to Redis for every request (it did: one a
request, each left to the garbage collector)."""

from __future__ import annotations

import httpx
import pytest
import redis
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.skipif(
    not settings.SERVICES_MODE, reason="the Redis cache: services mode (the embedded one: memory)"
)


def _connections_received() -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_served_requests_share_the_processes_redis_connections(asgi_server, world):
    # Given a signed-in agent (a session, read from the cache by every request)
    browser = Client()
    browser.force_login(world.agent_a1)
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    with httpx.Client(base_url=asgi_server, cookies=cookies, timeout=10) as http:
        assert http.get("/api/v1/queue/").status_code == 200  # the first connects
        before = _connections_received()
        # When the queue is asked for 30 times, through the server
        for _ in range(30):
            assert http.get("/api/v1/queue/").status_code == 200
        after = _connections_received()
    # Then Redis saw no new connection for them (the count's own reads: one each)
    assert after - before <= 2, after - before
