"""``/webhooks/<platform>`` with and without its trailing slash: both forms are the endpoint
(a platform's console may be given either), through the ASGI ingress and through Django."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from inbox.models import Message, WebhookEvent
from tests.inbox.test_webhook_ingress import _headers, _new_message_bodies

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/webhooks/tiktok", "/webhooks/tiktok/"])
def test_the_asgi_app_takes_a_delivery_with_or_without_the_slash(
    world, platform, asgi_server, path
):
    # Given a buyer's message the platform notifies us of
    body = _new_message_bodies(platform.sim, world.shop_a1, 1)[0]
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
    body = _new_message_bodies(platform.sim, world.shop_a1, 1)[0]
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
