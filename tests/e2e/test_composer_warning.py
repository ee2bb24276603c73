"""The composer's live sensitive-word warning in a real browser: a blocked phrase typed is
highlighted red with a warning, masked words amber; sending the blocked phrase anyway is
refused by the server with the words shown; a normal sentence raises nothing; Chinese too."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from inbox.models import Conversation, Message
from monitoring.models import Violation
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


def open_conversation(session, world, platform):
    """A buyer's message through the simulator; agent a1's page on its conversation."""
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
    return conversation, page


def test_the_composer_warns_before_send_and_shows_a_refusals_words(session, world, platform):
    conversation, page = open_conversation(session, world, platform)
    text = page.locator("#composer-text")
    warning = page.locator("#composer-screen")

    # When the agent types a blocked phrase (evasively spelled) and a masked word
    text.press_sequentially("Please use Z.O.R.B.L.A.X, code quuxword")
    # Then the warning shows it: the blocked part red, the masked part amber
    expect(warning).to_be_visible()
    expect(warning.locator("mark.screen-block")).to_have_text("Z.O.R.B.L.A.X")
    expect(warning.locator("mark.screen-mask")).to_have_text("quuxword")
    expect(warning.locator(".screen-message")).to_contain_text("blocked")
    expect(warning.locator(".screen-message")).to_contain_text("replaced by *")

    # When the agent sends anyway: refused by the server, the words named and highlighted
    text.press("Enter")
    expect(page.locator("#composer-alert")).to_contain_text("zorblax")
    expect(warning.locator(".screen-message")).to_contain_text("Not sent")
    expect(warning.locator("mark.screen-block")).to_have_text("Z.O.R.B.L.A.X")
    assert not Message.objects.filter(conversation=conversation, direction="out").exists()
    assert Violation.objects.filter(action="block", source="reply").count() == 1

    # When the text becomes a normal sentence: no warning, and it is sent
    text.fill("")
    text.press_sequentially("Your parcel left our warehouse today.")
    expect(warning).to_be_hidden()
    text.press("Enter")
    expect(text).to_have_value("")
    assert platform.sim.sent_messages(world.shop_a1.platform_shop_id)[-1]["content"] == {
        "content": "Your parcel left our warehouse today."
    }
    assert page.js_errors == []  # type: ignore[attr-defined]

    # In Chinese, the warning speaks Chinese
    zh = session.page_for(world.agent_a1, lang="zh-hans")
    zh.goto(f"{session.base}/inbox/c/{conversation.id}/")
    zh.locator("#composer-text").press_sequentially("请看 zorblax")
    expect(zh.locator("#composer-screen .screen-message")).to_contain_text("红色")
    expect(zh.locator("#composer-screen mark.screen-block")).to_have_text("zorblax")


def test_the_warning_highlights_the_words_after_emoji(session, world, platform):
    # (review of issue 15) the server's offsets count characters, JavaScript strings UTF-16
    # units: each emoji before a word shifted its highlight by one
    _, page = open_conversation(session, world, platform)
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
