"""The agent workspace in a real browser: one queue over two shops, keyboard reply, live
updates over the websocket, quick replies with a prompted variable, scope by URL, languages."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from inbox.models import Conversation, Message
from templates_app.models import QuickReplyUsage
from tests.factories import PASSWORD, QuickReplyFactory
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOW = int(time.time())


def _row(page, conversation: Conversation):
    return page.locator(f"#qrow-{conversation.id}")


def test_two_shops_keyboard_reply_live_message_and_languages(
    session, world, platform, two_shop_agent
):
    sim = platform.sim
    # Given buyers wrote to two shops of the agent
    c1, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="emily",
        nickname="Emily R.",
        text="Hi, my parcel arrived damaged",
        at=NOW - 900,
    )
    c2, _ = sim.buyer_message(
        world.shop_a2.platform_shop_id,
        buyer_user_id="wang",
        nickname="王芳",
        text="这件衣服尺码偏大吗？",
        at=NOW - 600,
    )
    assert set(sim.deliver_webhooks()["statuses"]) == {200}
    first = Conversation.objects.get(platform_conversation_id=c1)
    second = Conversation.objects.get(platform_conversation_id=c2)

    # When the agent logs in with the form
    page = session.browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.set_default_timeout(8000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(session.base + "/")
    page.fill("#id_username", two_shop_agent.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox/$"))
    # Then both shops' conversations are in one queue, longest waiting first
    expect(page.locator(".qrow")).to_have_count(2)
    expect(page.locator(".qrow").nth(0)).to_contain_text("Emily R.")
    expect(page.locator(".qrow").nth(0)).to_contain_text("A1 US")
    expect(page.locator(".qrow").nth(1)).to_contain_text("王芳")
    expect(page.locator(".qrow").nth(1)).to_contain_text("A2 UK")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    # When the agent opens the first with j, replies with r, typing and Enter
    page.keyboard.press("j")
    expect(page.locator("#conv-title")).to_have_text("Emily R.")
    expect(page.locator("#timeline")).to_contain_text("my parcel arrived damaged")
    page.keyboard.press("r")
    expect(page.locator("#composer-text")).to_be_focused()
    page.keyboard.type("Sorry! A replacement ships today.")
    expect(page.locator("#composer-count")).to_have_text("33 / 2000")
    page.keyboard.press("Enter")
    # Then the reply turns sent, and the platform recorded it once
    sent_reply = page.locator(".msg-out:not(.is-optimistic)", has_text="A replacement ships today")
    expect(sent_reply).to_have_attribute("data-state", "sent")
    expect(page.locator("#composer-text")).to_have_value("")
    sent = sim.sent_messages(world.shop_a1.platform_shop_id)
    assert [s["content"] for s in sent] == [{"content": "Sorry! A replacement ships today."}]

    # When the agent takes it (a) and moves to the second (j)
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#conv-header")).to_contain_text("Assigned to you")
    page.keyboard.press("j")
    expect(page.locator("#conv-title")).to_have_text("王芳")

    # And buyers write again: the open conversation, the assigned one, and a new buyer. (A
    # second later: the platform's times are whole seconds, the reply's is not.)
    later = time.time() + 1
    sim.buyer_message(
        world.shop_a2.platform_shop_id,
        buyer_user_id="wang",
        nickname="王芳",
        text="在吗？",
        at=later,
    )
    sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="emily",
        nickname="Emily R.",
        text="Thanks, and the tracking number?",
        at=later,
    )
    sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="new",
        nickname="Noah K.",
        text="Do you ship to Canada?",
        at=later,
    )
    sim.deliver_webhooks()
    # Then, without reload: the open timeline shows the message, the queue shows the others,
    # and the title counts the new buyer message on the conversation assigned to the agent
    expect(page.locator("#timeline")).to_contain_text("在吗？")
    expect(_row(page, first)).to_contain_text("the tracking number?")
    expect(page.locator(".qrow", has_text="Noah K.")).to_have_count(1)
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    assert page.evaluate("window.scrmInbox.lastEventId") > 0
    assert second.id == int(page.locator(".conversation").get_attribute("data-conversation"))

    # When the agent switches to Chinese, and back
    page.select_option("#lang-select", "zh-hans")
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#queue-heading")).to_have_text("队列")
    expect(page.locator("#composer-send")).to_contain_text("发送")
    page.select_option("#lang-select", "en")
    page.wait_for_load_state("load")
    expect(page.locator("#queue-heading")).to_have_text("Queue")
    assert errors == []


def test_agent_cannot_open_another_shops_conversation_by_url(session, world):
    other = conversation_with_messages(world.shop_a2, buyer="Not Yours")
    page = session.page_for(world.agent_a1)
    response = page.goto(f"{session.base}/inbox/c/{other.id}/")
    assert response is not None and response.status == 404
    expect(page.locator("main")).to_contain_text("404")
    expect(page.locator("body")).not_to_contain_text("Not Yours")


def test_quick_reply_with_a_prompted_variable_is_sent_once(session, world, platform):
    sim = platform.sim
    quick_reply = QuickReplyFactory(
        organisation=world.org_a,
        shortcut="ship",
        title="Shipping day",
        body="Hi {{ buyer_name }}, your parcel ships on {{ ship_day }}.",
        custom_fields=["ship_day"],
    )
    cid, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="emily",
        nickname="Emily R.",
        text="When will it ship?",
        at=NOW - 300,
    )
    sim.deliver_webhooks()
    conversation = Conversation.objects.get(platform_conversation_id=cid)
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{conversation.id}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    # When the agent types /ship and picks the reply
    page.keyboard.press("r")
    page.keyboard.type("/ship")
    option = page.locator("#qr-list [role=option]", has_text="Shipping day")
    expect(option).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    # Then the missing variable is asked for; filled, the rendered text is inserted
    field = page.get_by_label("ship day")
    expect(field).to_be_focused()
    field.fill("Monday")
    field.press("Enter")
    expected = "Hi Emily R., your parcel ships on Monday."
    expect(page.locator("#composer-text")).to_have_value(expected)
    # (inserting it is not a use of the quick reply: sending it is)
    assert QuickReplyUsage.objects.filter(quick_reply=quick_reply).count() == 0
    # When the agent double-clicks Send
    page.locator("#composer-send").dblclick()
    # Then it is sent once
    expect(page.locator(".msg-out:not(.is-optimistic)", has_text=expected)).to_have_attribute(
        "data-state", "sent"
    )
    sent = sim.sent_messages(world.shop_a1.platform_shop_id)
    assert [s["content"] for s in sent] == [{"content": expected}]
    assert Message.objects.filter(conversation=conversation, direction="out").count() == 1
    # And the quick reply counts one use, of this reply
    usage = QuickReplyUsage.objects.get(quick_reply=quick_reply)
    assert (usage.conversation_id, usage.user_id) == (conversation.id, world.agent_a1.id)
