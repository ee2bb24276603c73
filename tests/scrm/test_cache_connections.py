"""Served requests share the process's Redis connections (scrm/cache.py): reading a session
from the cache no longer opens a TCP connection to Redis for every request (it did: one a
request, each left to the garbage collector)."""

from __future__ import annotations

import httpx
import pytest
import redis
import redis.connection
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.skipif(
    not settings.SERVICES_MODE, reason="the Redis cache: services mode (the embedded one: memory)"
)


def test_served_requests_share_the_processes_redis_connections(asgi_server, world, monkeypatch):
    # Given a signed-in agent (a session, read from the cache by every request), and the
    # server in this process: each new connection to Redis its requests make is counted
    browser = Client()
    browser.force_login(world.agent_a1)
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    made: list[object] = []
    make_connection = redis.connection.ConnectionPool.make_connection

    def counted(pool):
        made.append(pool)
        return make_connection(pool)

    with httpx.Client(base_url=asgi_server, cookies=cookies, timeout=10) as http:
        assert http.get("/api/v1/queue/").status_code == 200  # the first connects
        monkeypatch.setattr(redis.connection.ConnectionPool, "make_connection", counted)
        # When the queue is asked for 30 times, one after another, through the server
        for _ in range(30):
            assert http.get("/api/v1/queue/").status_code == 200
    # Then none of them opened a connection to Redis (each did: one a request)
    assert made == []
