"""The served app runs Django's sync middleware chain and view in one thread hop per request
(scrm.asgi_handler), with Django's answers unchanged."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from scrm.asgi_handler import SyncChainASGIHandler


def test_the_served_app_builds_its_middleware_chain_sync():
    from scrm import asgi

    assert isinstance(asgi.django_asgi_app, SyncChainASGIHandler)
    # Django's own handler makes the chain a coroutine function (the loop, then threads);
    # this one is a plain call, so nothing inside it goes back to the loop.
    chain = asgi.django_asgi_app._middleware_chain
    assert not asyncio.iscoroutinefunction(chain)


@pytest.mark.django_db(transaction=True)
def test_answers_through_it_are_djangos(asgi_server, world):
    with httpx.Client(base_url=asgi_server, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        # signed out: the inbox sends to the sign-in page; an unknown path is a 404 page
        inbox = http.get("/inbox/")
        assert inbox.status_code == 302 and "/login/" in inbox.headers["location"]
        assert http.get("/no-such-page/").status_code == 404
        # a form posted without its CSRF token is refused by the (sync) CSRF middleware
        assert http.post("/login/", data={"username": "x", "password": "y"}).status_code == 403
        # the API answers as JSON, and a signed-out caller gets its error shape
        api = http.get("/api/v1/queue/")
        assert api.status_code in (401, 403)
        assert set(api.json()["error"]) == {"code", "message", "details"}
