"""``/webhooks/<platform>`` with and without its trailing slash: both forms are the endpoint
(a platform's console may be given either), through the ASGI ingress and through Django."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client

from inbox.models import Message, WebhookEvent
from inbox.platforms.tiktok_shop.signing import webhook_signature
from tests.inbox.platform_world import APP_KEY, APP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def _buyer_notifications(sim, shop, count: int) -> list[bytes]:
    """``count`` NEW_MESSAGE notifications the simulator queued, not yet delivered."""
    for i in range(count):
        sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=f"slash-{i}", nickname=f"S{i}", text=f"hi {i}"
        )
    with sim.lock:
        batch, sim.outbox = sim.outbox, []
    return [n.body for n in batch if json.loads(n.body)["type"] == 14]


def _headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Authorization": webhook_signature(APP_KEY, APP_SECRET, body),
    }


@pytest.mark.parametrize("path", ["/webhooks/tiktok", "/webhooks/tiktok/"])
def test_the_asgi_app_takes_a_delivery_with_or_without_the_slash(
    world, platform, asgi_server, path
):
    # Given a buyer's message the platform notifies us of
    body = _buyer_notifications(platform.sim, world.shop_a1, 1)[0]
    # When the platform posts it to the running app at either form of the address
    r = httpx.post(asgi_server + path, content=body, headers=_headers(body), timeout=10)
    # Then it is acknowledged as usual and the message is stored
    assert (r.status_code, r.content) == (200, b"")
    assert WebhookEvent.objects.filter(id=int(r.headers["X-SCRM-Event"])).exists()
    assert Message.objects.filter(shop_account=world.shop_a1).count() == 1
    # And a badly signed delivery is refused the same way at either form
    bad = httpx.post(asgi_server + path, content=body, headers={"Authorization": "x"}, timeout=10)
    assert bad.status_code == 401


@pytest.mark.parametrize("path", ["/webhooks/tiktok", "/webhooks/tiktok/"])
def test_django_takes_a_delivery_with_or_without_the_slash(world, platform, path):
    # Given a buyer's message the platform notifies us of
    body = _buyer_notifications(platform.sim, world.shop_a1, 1)[0]
    # When it reaches Django's own URLconf (a WSGI deployment) at either form of the address
    r = Client().post(
        path,
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=_headers(body)["Authorization"],
    )
    # Then it is acknowledged as usual (no redirect, no error) and the message is stored
    assert r.status_code == 200
    assert WebhookEvent.objects.filter(id=int(r.headers["X-SCRM-Event"])).exists()
    assert Message.objects.filter(shop_account=world.shop_a1).count() == 1
