"""Review of issue 15: the composer's warning highlights the matched words themselves when an
emoji comes before them (the server's offsets count characters, JavaScript strings count UTF-16
units: each emoji shifted the highlight by one)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from inbox.models import Conversation
from monitoring.services.words import word_entry_add
from monitoring.words.cache import cache_clear

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def words(world):
    cache_clear()
    for word, action in (("zorblax", "block"), ("quuxword", "mask")):
        word_entry_add(
            actor=world.supervisor_a,
            shop_account_id=None,
            word=word,
            category="custom",
            action=action,
        )
    yield
    cache_clear()


def test_the_warning_highlights_the_words_after_emoji(session, world, platform):
    conv_id, _ = platform.sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="emily",
        nickname="Emily R.",
        text="Where is my parcel?",
        at=int(time.time()) - 60,
    )
    platform.sim.deliver_webhooks()
    conversation = Conversation.objects.get(platform_conversation_id=conv_id)
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{conversation.id}/")
    warning = page.locator("#composer-screen")
    # When the agent types emoji, then a masked and a blocked word
    page.locator("#composer-text").fill("😀👍🏽 use quuxword 🎉 or zorblax")
    # Then each highlight holds exactly its word
    expect(warning.locator("mark.screen-mask")).to_have_text("quuxword")
    expect(warning.locator("mark.screen-block")).to_have_text("zorblax")
    expect(warning.locator(".screen-preview")).to_have_text("😀👍🏽 use quuxword 🎉 or zorblax")
    # When sent anyway, the refusal's highlight holds the word too
    page.locator("#composer-text").press("Enter")
    expect(warning.locator(".screen-message")).to_contain_text("Not sent")
    expect(warning.locator("mark.screen-block")).to_have_text("zorblax")
    assert page.js_errors == []  # type: ignore[attr-defined]
