"""The conversation header in a browser (issue 11): snooze (presets in the viewer's time zone,
or a time of one's own), tags, priority and transfer; the next conversation opens after
resolving; the header and the queue's order follow other people's changes live."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inbox.models import Conversation, Member
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _rows(page) -> list[int]:
    return [int(i) for i in page.locator(".qrow").evaluate_all("rs => rs.map(r => r.dataset.id)")]


@pytest.fixture
def queue(world):
    """Three waiting conversations of shop a1, the longest waiting first; agent_a1 works in
    Shanghai's time zone."""
    Member.objects.filter(user=world.agent_a1).update(time_zone="Asia/Shanghai")
    return [
        conversation_with_messages(world.shop_a1, buyer=name, waited=timedelta(minutes=m))
        for name, m in (("Emily R.", 50), ("王芳", 40), ("Noah K.", 30))
    ]


def test_snoozing_till_tomorrow_wakes_at_nine_in_my_time_zone(session, world, queue):
    emily, wang, _ = queue
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{emily.id}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    # When the agent opens the snooze menu (s) and picks "Tomorrow"
    page.keyboard.press("s")
    page.locator('[data-snooze-key="tomorrow"]').click()
    # Then the conversation sleeps until 9:00 tomorrow, Shanghai time
    expect(page.locator("#announcer")).to_have_text("Conversation snoozed.")
    tomorrow = timezone.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    expected = datetime.combine(tomorrow, datetime.min.time(), tzinfo=SHANGHAI).replace(hour=9)
    emily.refresh_from_db()
    assert emily.status == "snoozed" and emily.snoozed_until == expected
    # And it left the queue, and the next conversation is open
    expect(page.locator(f"#qrow-{emily.id}")).to_have_count(0)
    expect(page.locator("#conv-title")).to_have_text("王芳")
    assert wang.id == int(page.locator(".conversation").get_attribute("data-conversation"))
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_snoozing_until_a_time_of_my_own_reads_it_in_my_time_zone(session, world, queue):
    emily = queue[0]
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{emily.id}/")
    page.locator("#snooze-menu summary").click()
    # A time in the past is refused in the page
    page.locator("#snooze-until").fill("2001-01-01T08:00")
    page.locator("#snooze-custom button[type=submit]").click()
    emily.refresh_from_db()
    assert emily.status == "open"
    # A time to come is the agent's own clock
    page.locator("#snooze-until").fill("2031-05-06T14:30")
    page.locator("#snooze-custom button[type=submit]").click()
    expect(page.locator("#announcer")).to_have_text("Conversation snoozed.")
    emily.refresh_from_db()
    assert emily.snoozed_until == datetime(2031, 5, 6, 14, 30, tzinfo=SHANGHAI)
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_tags_priority_and_transfer_from_the_header(session, world, queue, two_shop_agent):
    emily = queue[0]
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{emily.id}/")
    header = page.locator("#conv-header")
    # When the agent tags it "vip" and "refund", then takes "refund" off
    page.locator("#tag-input").fill("vip")
    page.keyboard.press("Enter")
    expect(header.locator('.tag[data-tag="vip"]')).to_be_visible()
    expect(page.locator("#tag-input")).to_be_focused()
    page.keyboard.type("refund")
    page.keyboard.press("Enter")
    expect(header.locator('.tag[data-tag="refund"]')).to_be_visible()
    header.locator('[data-tag-remove="refund"]').click()
    expect(header.locator('.tag[data-tag="refund"]')).to_have_count(0)
    # And sets its priority to urgent
    page.locator("#conv-priority").select_option("3")
    expect(page.locator("#conv-priority-badge")).to_have_text("Urgent")
    # And transfers it to Li Na (listed by her name, with the shop's other people)
    page.locator("#transfer-menu summary").click()
    options = page.locator("#transfer-to option").all_text_contents()
    assert "Li Na" in options and "li.na" not in options
    page.locator("#transfer-to").select_option(label="Li Na")
    page.locator("#transfer-form button[type=submit]").click()
    expect(header).to_contain_text("Assigned to Li Na")
    expect(page.locator("#announcer")).to_have_text("Transferred to Li Na.")
    # Then all of it is stored
    emily.refresh_from_db()
    assert sorted(emily.tags.values_list("name", flat=True)) == ["vip"]
    assert emily.priority == 3 and emily.assignee_id == two_shop_agent.pk
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_the_header_follows_a_colleagues_changes_without_losing_my_typing(session, world, queue):
    emily = queue[0]
    agent = session.page_for(world.agent_a1)
    agent.goto(f"{session.base}/inbox/c/{emily.id}/")
    expect(agent.locator("#live-state")).to_have_attribute("data-state", "live")
    Member.objects.filter(user=world.supervisor_a).update(display_name="Sam Supervisor")
    supervisor = session.page_for(world.supervisor_a)
    supervisor.goto(f"{session.base}/inbox/c/{emily.id}/")
    # Given the agent half-way through typing a tag
    agent.locator("#tag-input").fill("half-typ")
    # When the supervisor marks the conversation high priority and tags it
    supervisor.locator("#conv-priority").select_option("2")
    expect(supervisor.locator("#conv-priority-badge")).to_have_text("High")
    supervisor.locator("#tag-input").fill("escalated")
    supervisor.keyboard.press("Enter")
    expect(supervisor.locator('#conv-header .tag[data-tag="escalated"]')).to_be_visible()
    # Then the agent's typing is kept while they are in the field
    agent.wait_for_timeout(600)
    expect(agent.locator("#tag-input")).to_have_value("half-typ")
    # And once they leave it, their header shows the supervisor's changes
    agent.locator("#conv-title").click()
    expect(agent.locator("#conv-priority-badge")).to_have_text("High")
    expect(agent.locator('#conv-header .tag[data-tag="escalated"]')).to_be_visible()
    # And a change of assignee shows at once when the agent is not in a field (by her name)
    supervisor.locator('#conv-header [data-action="assign-me"]').click()
    expect(agent.locator("#conv-header")).to_contain_text("Assigned to Sam Supervisor")
    assert agent.js_errors == [] and supervisor.js_errors == []  # type: ignore[attr-defined]


def test_resolving_opens_the_next_conversation_in_the_views_order(session, world, queue):
    emily, wang, noah = queue
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{wang.id}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    assert _rows(page) == [emily.id, wang.id, noah.id]
    # When the agent resolves the middle one with e
    page.keyboard.press("e")
    # Then the one after it opens, and the resolved one leaves the queue
    expect(page.locator("#conv-title")).to_have_text("Noah K.")
    expect(page.locator(f"#qrow-{wang.id}")).to_have_count(0)
    assert Conversation.objects.get(id=wang.id).status == "resolved"
    # When the agent resolves the last one, the one before it opens
    page.locator('#conv-header [data-action="resolve"]').click()
    expect(page.locator("#conv-title")).to_have_text("Emily R.")
    expect(page.locator(".qrow")).to_have_count(1)
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_rows_move_to_their_new_place_when_an_event_changes_the_order(session, world, queue):
    emily, wang, noah = queue
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    page.evaluate("window.notReloaded = true")
    assert _rows(page) == [emily.id, wang.id, noah.id]
    # When the supervisor snoozes Emily's conversation and Noah's comes back from resolved with
    # a longer wait (a reopen by a colleague, as an event tells the page)
    supervisor = session.page_for(world.supervisor_a)
    supervisor.goto(f"{session.base}/inbox/c/{emily.id}/")
    supervisor.keyboard.press("s")
    supervisor.locator('[data-snooze-key="next_week"]').click()
    expect(supervisor.locator("#announcer")).to_have_text("Conversation snoozed.")
    # Then the agent's queue drops the snoozed one
    expect(page.locator(f"#qrow-{emily.id}")).to_have_count(0)
    # When a buyer's older message makes Noah's conversation wait longest (its queue_key moves)
    Conversation.objects.filter(id=noah.id).update(
        waiting_since=timezone.now() - timedelta(hours=3),
        queue_key=timezone.now() - timedelta(hours=3),
    )
    supervisor.goto(f"{session.base}/inbox/c/{noah.id}/")
    supervisor.locator("#conv-priority").select_option("2")  # any change: an event for it
    # Then Noah's row moves to the top, without a reload
    expect(page.locator(".qrow").first).to_have_attribute("data-id", str(noah.id))
    assert _rows(page) == [noah.id, wang.id]
    assert page.evaluate("window.notReloaded") is True
    assert page.js_errors == []  # type: ignore[attr-defined]
