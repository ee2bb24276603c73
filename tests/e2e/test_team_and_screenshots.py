"""The supervisor page in a browser, and the screenshots of docs/screenshots/ (1440×900)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inbox.models import Message, Note
from inbox.services.ingestion import conversation_refresh
from tests.e2e.conftest import SCREENSHOTS
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _reply(conversation, author, text, *, state="sent", reason="", minutes_ago=0):
    return Message.objects.create(
        conversation=conversation,
        shop_account=conversation.shop_account,
        platform_message_id=None if state != "sent" else f"p-{conversation.id}-{text[:8]}",
        direction="out",
        sender_role="CUSTOMER_SERVICE",
        type="TEXT",
        text=text,
        content={"content": text},
        author=author,
        idempotency_key=f"k-{conversation.id}-{text[:12]}",
        delivery_state=state,
        failure_reason=reason,
        sent_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _buyer(conversation, text="", *, type_="TEXT", content=None, minutes_ago=0):
    n = Message.objects.filter(conversation=conversation).count()
    return Message.objects.create(
        conversation=conversation,
        shop_account=conversation.shop_account,
        platform_message_id=f"b-{conversation.id}-{n}",
        direction="in",
        sender_role="BUYER",
        type=type_,
        text=text,
        content=content if content is not None else {"content": text},
        sent_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_team_page_shows_figures_and_refuses_agents(session, world):
    # Given an open conversation assigned to agent_a1 and a reply of theirs today
    c = conversation_with_messages(world.shop_a1, buyer="Emily R.", waited=timedelta(hours=2))
    c.assignee = world.agent_a1
    c.save()
    _reply(c, world.agent_a1, "On its way!")
    conversation_with_messages(world.shop_a2, buyer="王芳", waited=timedelta(minutes=20))
    # And agent_a1 has the inbox open (its websocket counts as online)
    agent_page = session.page_for(world.agent_a1)
    agent_page.goto(session.base + "/inbox/")
    expect(agent_page.locator("#live-state")).to_have_attribute("data-state", "live")
    # When the supervisor opens the team page
    page = session.page_for(world.supervisor_a)
    page.goto(session.base + "/inbox/team/")
    row = page.locator('#agents-table tr[data-user="agent_a1"]')
    # Then the figures are there
    expect(row).to_contain_text("Online")
    expect(row.locator('[data-col="open"]')).to_have_text("1")
    expect(row.locator('[data-col="replies"]')).to_have_text("1")
    expect(page.locator('[data-stat="open"]')).to_have_text("2")
    expect(page.locator('[data-stat="unassigned"]')).to_have_text("1")
    expect(page.locator("#shops-table")).to_contain_text("A1 US")
    expect(page.locator("main")).to_contain_text("Emily R.")  # waiting longest
    # And an agent is refused
    response = agent_page.goto(session.base + "/inbox/team/")
    assert response is not None and response.status == 403


def _populate(world, agent):
    """A believable morning: two shops, buyers waiting, cards, a note, a failed reply."""
    people = [
        (
            world.shop_a1,
            "Emily R.",
            ("Hi, my parcel arrived damaged", "The box was crushed"),
            14 * 60,
        ),
        (world.shop_a2, "王芳", ("这件衣服尺码偏大吗？",), 190),
        (world.shop_a1, "Noah K.", ("Do you ship to Canada?",), 95),
        (world.shop_a2, "Olivia P.", ("Can I change the colour of my order?",), 42),
        (world.shop_a1, "陈晨", ("请问什么时候发货？", "订单号已经发给你们了"), 25),
        (world.shop_a2, "James W.", ("Is the discount still valid tomorrow?",), 12),
        (world.shop_a1, "Sofia M.", ("Thank you, received it today!",), 6),
        (world.shop_a2, "Liam B.", ("Where can I find the size chart?",), 2),
    ]
    made = []
    for shop, name, texts, waited in people:
        made.append(
            conversation_with_messages(
                shop, buyer=name, texts=texts, waited=timedelta(minutes=waited)
            )
        )
    emily = made[0]
    _buyer(
        emily,
        type_="ORDER_CARD",
        content={"order_id": "576461413038785752"},
        minutes_ago=14 * 60 - 1,
    )
    _reply(
        emily, agent, "I'm sorry to hear that! Could you send a photo of the item?", minutes_ago=40
    )
    _buyer(emily, "Here it is, the handle is broken.", minutes_ago=30)
    Note.objects.create(
        conversation=emily, author=agent, text="Photo confirms transit damage: offer a replacement."
    )
    _reply(
        emily,
        agent,
        "Thank you. We will send a replacement today, no need to return the damaged one.",
        state="failed",
        reason="The platform was unavailable (HTTP 503) after 7 tries.",
    )
    conversation_refresh(emily)
    emily.assignee = agent
    emily.unread_count = 0
    emily.save()
    made[2].assignee = agent
    made[2].save()
    _buyer(
        made[4],
        type_="PRODUCT_CARD",
        content={"product_id": "1729587769570024000", "product_name": "Linen shirt, sand"},
        minutes_ago=24,
    )
    conversation_refresh(made[4])
    return made


def test_screenshots(session, world, two_shop_agent):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    made = _populate(world, two_shop_agent)
    emily = made[0]
    page = session.page_for(two_shop_agent)
    page.goto(f"{session.base}/inbox/c/{emily.id}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator(".msg-state.state-failed")).to_be_visible()
    page.locator(".qrow .qsel").nth(3).check()  # shows the bulk bar
    page.locator(".qrow .qsel").nth(5).check()
    page.screenshot(path=str(SCREENSHOTS / "workspace.png"))

    zh = session.page_for(two_shop_agent, lang="zh-hans")
    zh.goto(f"{session.base}/inbox/c/{emily.id}/")
    expect(zh.locator("#queue-heading")).to_have_text("队列")
    expect(zh.locator("#live-state")).to_have_attribute("data-state", "live")
    zh.screenshot(path=str(SCREENSHOTS / "workspace-zh.png"))

    # 200% zoom on a 1440-px screen is a 720-px viewport: the panes stack, nothing is cut off
    narrow = session.page_for(two_shop_agent, width=720, height=900)
    narrow.goto(f"{session.base}/inbox/c/{emily.id}/")
    expect(narrow.locator("#composer-text")).to_be_visible()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 720
    narrow.screenshot(path=str(SCREENSHOTS / "workspace-720.png"), full_page=True)

    team = session.page_for(world.supervisor_a)
    team.goto(f"{session.base}/inbox/team/")
    expect(team.locator("#agents-table")).to_contain_text("Li Na")
    team.screenshot(path=str(SCREENSHOTS / "team.png"))
    assert page.js_errors == [] and zh.js_errors == [] and team.js_errors == []
