from __future__ import annotations

import pytest

from tests.inbox.platform_world import start_platform


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
