"""A buyer's image URL reaches ``<img src>`` only on the platform's image hosts (or the demo
simulator's own URL); anything else is shown as text and never fetched (scrm/images.py)."""

from __future__ import annotations

import re

import pytest

from inbox.models import Conversation
from scrm.images import image_url_allowed

pytestmark = pytest.mark.django_db(transaction=True)

TIKTOK_IMAGE = (
    "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/"
    "6f1c2e0a9b8d4c7e~tplv-o3syd03w52-origin-jpeg.jpeg?from=1826719393"
)
HOSTILE = [
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "http://evil.example/x.png",
    "//evil.example/x.png",
    "https://evil.example/x.png",
    "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=",
    "data:image/png;base64,iVBORw0KGgo=",
    "http://p16-oec-va.ibyteimg.com/x.jpeg",  # not https
    "https://ibyteimg.com.evil.example/x.png",
    "https://evil.example/.ibyteimg.com/x.png",
    "https://p16.ibyteimg.com@evil.example/x.png",
    "https://evil.example\\@p16.ibyteimg.com/x.png",
    "https://p16.ibyteimg.com:8443/x.png",
    "https://p16.ibyteimg.com\t.evil.example/x.png",
    "https:\\\\p16.ibyteimg.com/x.png",
    "/static/x.png",
    "",
    None,
    42,
    {"url": TIKTOK_IMAGE},
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused(url):
    assert image_url_allowed(url) is False


@pytest.mark.parametrize(
    "url",
    [
        TIKTOK_IMAGE,
        "https://p16-sign-va.tiktokcdn.com/avatar/a.webp",
        "https://p19-sign.tiktokcdn-us.com/x.jpeg",
        "HTTPS://P16-OEC-SG.IBYTEIMG.COM/x.png",
        "https://p16.ibyteimg.com:443/x.png",
    ],
)
def test_platform_image_hosts_are_allowed(url):
    assert image_url_allowed(url) is True


def test_the_simulator_url_only_while_it_is_enabled_and_under_its_path(settings):
    settings.SCRM_PUBLIC_URL = "http://127.0.0.1:8000"
    settings.SCRM_SIMULATOR_ENABLED = True
    assert image_url_allowed("http://127.0.0.1:8000/simulator/tiktok/img/1.png")
    assert not image_url_allowed("http://127.0.0.1:8000/admin/")
    assert not image_url_allowed("http://127.0.0.1:8000/simulator/../admin/")
    assert not image_url_allowed("http://127.0.0.1:8000/simulator/%2e%2e/admin/")
    assert not image_url_allowed("http://127.0.0.1:9999/simulator/x.png")
    settings.SCRM_SIMULATOR_ENABLED = False
    assert not image_url_allowed("http://127.0.0.1:8000/simulator/tiktok/img/1.png")


def test_the_host_list_is_a_setting(settings):
    settings.SCRM_IMAGE_HOSTS = ["images.example-cdn.com"]
    assert image_url_allowed("https://images.example-cdn.com/a.png")
    assert not image_url_allowed("https://x.images.example-cdn.com/a.png")
    assert not image_url_allowed(TIKTOK_IMAGE)


def test_image_messages_render_only_allowed_urls(world, platform, client, api):
    # Given a buyer sent images through the platform: one from TikTok's CDN, the rest hostile
    sim = platform.sim
    urls = [TIKTOK_IMAGE, *[u for u in HOSTILE if isinstance(u, str) and u]]
    conv_id = None
    for i, url in enumerate(urls):
        conv_id, _ = sim.buyer_message(
            world.shop_a1.platform_shop_id,
            buyer_user_id="pic",
            nickname="Pic Buyer",
            type="IMAGE",
            content={"url": url, "width": 640, "height": 480},
            at=1_790_000_000 + i,
        )
    assert set(sim.deliver_webhooks()["statuses"]) == {200}
    conversation = Conversation.objects.get(platform_conversation_id=conv_id)
    assert conversation.messages.filter(type="IMAGE").count() == len(urls)

    # When the agent opens the conversation's timeline
    client.force_login(world.agent_a1)
    html = client.get(f"/inbox/c/{conversation.id}/timeline/").content.decode()

    # Then exactly one <img> is drawn, the TikTok one; the others are named as text only
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert sources == [TIKTOK_IMAGE.replace("&", "&amp;")]
    assert html.count("card-image-blocked") == len(urls) - 1
    assert "evil.example" in html  # shown as text, escaped, for the agent to judge
    for tag in re.findall(r"<[^>]+>", html):
        assert "evil.example" not in tag and "javascript:" not in tag.lower()

    # And the API keeps the platform's content but offers only the allowed URL to draw
    rows = (
        api.as_user(world.agent_a1)
        .get(f"/api/v1/conversations/{conversation.id}/messages/")
        .json()["results"]
    )
    drawable = {r["content"]["url"]: r["image_url"] for r in rows}
    assert drawable.pop(TIKTOK_IMAGE) == TIKTOK_IMAGE
    assert set(drawable.values()) == {None}
