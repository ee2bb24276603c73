from __future__ import annotations

import pytest

from inbox.models import Role
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
