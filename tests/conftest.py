from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from inbox.models import Organisation, Role, ShopAccount
from tests.factories import OrganisationFactory, ShopAccountFactory, make_person


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
    from scrm.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


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
