from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from channels.layers import channel_layers
from django.db import connections
from rest_framework.test import APIClient

from inbox.models import Organisation, Role, ShopAccount
from tests.factories import OrganisationFactory, ShopAccountFactory, make_person


def pytest_configure(config: pytest.Config) -> None:
    # Passwords hashed at one PBKDF2 iteration (tests/hashers.py): the production count cost
    # ~0.4 s a person, most of the suite's time. Set before anything hashes (the hashers are
    # cached on first use); a test that changes PASSWORD_HASHERS through ``settings`` gets its
    # own.
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        "tests.hashers.FastPBKDF2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@dataclass
class World:
    """Two organisations. Org A: shops a1, a2, a3; agent_a1 works a1, agent_a2 works a2 and a3;
    supervisor_a sees all of A. Org B: shop b1 with agent_b and supervisor_b."""

    org_a: Organisation
    org_b: Organisation
    shop_a1: ShopAccount
    shop_a2: ShopAccount
    shop_a3: ShopAccount
    shop_b1: ShopAccount
    agent_a1: object
    agent_a2: object
    supervisor_a: object
    agent_b: object
    supervisor_b: object


@pytest.fixture
def world(db) -> World:
    org_a, org_b = OrganisationFactory(slug="org-a"), OrganisationFactory(slug="org-b")
    a1 = ShopAccountFactory(organisation=org_a, name="A1 US", region="US")
    a2 = ShopAccountFactory(
        organisation=org_a, name="A2 UK", region="GB", time_zone="Europe/London"
    )
    a3 = ShopAccountFactory(
        organisation=org_a, name="A3 MY", region="MY", time_zone="Asia/Kuala_Lumpur"
    )
    b1 = ShopAccountFactory(organisation=org_b, name="B1 US", region="US")
    return World(
        org_a=org_a,
        org_b=org_b,
        shop_a1=a1,
        shop_a2=a2,
        shop_a3=a3,
        shop_b1=b1,
        agent_a1=make_person(org_a, Role.AGENT, [a1], username="agent_a1"),
        agent_a2=make_person(org_a, Role.AGENT, [a2, a3], username="agent_a2"),
        supervisor_a=make_person(org_a, Role.SUPERVISOR, username="supervisor_a"),
        agent_b=make_person(org_b, Role.AGENT, [b1], username="agent_b"),
        supervisor_b=make_person(org_b, Role.SUPERVISOR, username="supervisor_b"),
    )


@pytest.fixture
def asgi_server(transactional_db, settings) -> Iterator[str]:
    """``scrm.asgi.application`` (webhook ingress, Django, websockets, the simulator mount)
    served by Uvicorn in a thread of the test process, on a free port; yields its base URL."""
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from scrm.asgi import application

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    # Close each request's connection, so no server thread holds the test database at the end.
    db_settings = connections["default"].settings_dict
    previous_age = db_settings.get("CONN_MAX_AGE")
    db_settings["CONN_MAX_AGE"] = 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    channel_layers.backends.clear()  # a layer of this server's own (see the end)
    # Static files from the finders, as Django's live server does (tests run with DEBUG off).
    config = uvicorn.Config(
        ASGIStaticFilesHandler(application),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        # A browser's socket left open must not hold the test's end (uvicorn waits for open
        # connections forever by default; the join below would wait its 10 s).
        timeout_graceful_shutdown=2,
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True, name="test-uvicorn")
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
    db_settings["CONN_MAX_AGE"] = previous_age
    # channels-redis lets one event loop at a time receive on a layer instance, and counts the
    # server's receives down only as its consumers finish; a consumer the stopping server left
    # unfinished would make every later test's receive (on its own loop) fail with "Two event
    # loops are trying to receive() on one channel layer at once!". The next user gets a new one.
    channel_layers.backends.clear()


@pytest.fixture
def api():
    """An API client; ``api.as_user(u)`` authenticates as that user."""

    class Client(APIClient):
        def as_user(self, user):
            self.force_authenticate(user=user)
            return self

    return Client()


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in the caller in every mode (conventions: tasks called directly or eagerly);
    in CI the broker is real Redis but the suite does not need a separate worker."""
    from celery.result import _set_task_join_will_block

    from scrm.celery import app

    # Celery keeps "a task is running here, .get() would block" in one process-wide flag that
    # each eager task sets and then restores to what it found: two tasks running at once in two
    # threads (a live server's and the test's) can leave it set for good, and every later
    # ``.apply(...).get()`` in this process raises "Never call result.get() within a task!".
    _set_task_join_will_block(False)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_quick_reply_libraries():
    """Each test starts as a new process would: no quick-reply library held in memory (rolled
    back rows and reused ids of an earlier test must not be served from it)."""
    from templates_app import library

    library.clear()
    yield
    library.clear()


@pytest.fixture(autouse=True)
def _fresh_index_keys():
    """Each test's organisations are new rows (ids reused on SQLite): no index keys remembered
    from another test."""
    from scrm.blind import forget_org_index

    forget_org_index()
    yield
    forget_org_index()


@pytest.fixture(autouse=True)
def _fresh_webhook_keys():
    """Each test's shop accounts are new rows: no webhook key remembered from another test."""
    from inbox.services.webhooks import webhook_keys

    webhook_keys.clear()
    yield
    webhook_keys.clear()


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup, django_db_blocker):
    """Services mode uses a psycopg pool; close it before the test database is dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor == "postgresql":
                # Threads of live servers and async tests may still hold a pooled connection.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None:
                close_pool()
