from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inbox.models import Role
from scrm.celery import app as celery_app
from tests.factories import make_person
from tests.inbox.platform_world import start_platform


@pytest.fixture
def fast_passwords(settings):
    """Passwords hashed with MD5 (tests that create many people; never in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(world, fast_passwords):
    """An admin of organisation A (``admin_a``, admin@example.com): who acts on the management
    pages' services in their tests."""
    user = make_person(world.org_a, Role.ADMIN, username="admin_a")
    user.email = "admin@example.com"
    user.save()
    return user


@pytest.fixture
def platform(settings, world, asgi_server):
    """The TikTok Shop simulator over real HTTP, wired to shops a1, a2 and b1; its webhooks go
    to the ASGI server (``inbox.ingress``, as in production)."""
    p = start_platform(settings)
    url = asgi_server + "/webhooks/tiktok/"
    for shop in (world.shop_a1, world.shop_a2, world.shop_b1):
        p.connect_shop(shop)
        p.subscribe(shop, url)
    yield p
    p.server.stop()
    p.sim.close()


class Broker:
    """The real broker's queues as services mode fills them: ``take`` reads (and acks) what is
    queued, as (task name, args) in order, until the queue stays empty for ``wait`` seconds."""

    def __init__(self, queues: dict[str, Any]) -> None:
        self.queues = queues

    def take(self, queue: str = "celery", *, wait: float = 0.3) -> list[tuple[str, tuple]]:
        q = self.queues[queue]
        found: list[tuple[str, tuple]] = []
        while True:
            try:
                message = q.get(timeout=wait)
            except q.Empty:
                return found
            found.append((message.headers["task"], tuple(message.payload[0])))
            message.ack()


@pytest.fixture
def broker() -> Iterator[Broker]:
    """Celery as in services mode (not eager) on the real broker (Redis in CI, the in-memory
    transport elsewhere); its queues, "celery", "outbox" and "periodic", emptied before and
    after."""
    celery_app.conf.task_always_eager = False
    try:
        with (
            celery_app.connection_for_write() as main,
            celery_app.connection_for_write() as out,
            celery_app.connection_for_write() as ticks,
        ):
            # A connection each: one channel reading two queues would take from both at once
            queues = {
                "celery": main.SimpleQueue("celery"),
                "outbox": out.SimpleQueue("outbox"),
                "periodic": ticks.SimpleQueue("periodic"),
            }
            for q in queues.values():
                q.clear()
            yield Broker(queues)
            for q in queues.values():
                q.clear()
                q.close()
    finally:
        celery_app.conf.task_always_eager = True
