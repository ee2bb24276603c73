"""SLA countdown badges in a real browser against the simulator: three buyers wrote at
different times, so their first-reply deadlines (24 h, wall-clock) are ok, inside the warning
window and breached; each queue row shows its badge in green, amber and red with the due time
in the shop's and the viewer's time; when the agent's reply is delivered to the platform, the
deadline closes and its badge leaves live, the others stay."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from inbox.models import Conversation
from monitoring.models.sla import SlaPolicy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOUR = 3600


def test_badges_show_each_state_and_the_answered_ones_leaves_live(session, world, platform):
    sim, shop, agent = platform.sim, world.shop_a1, world.agent_a1
    # Given a 24-hour first-reply target counted in wall-clock time, no same-day target
    SlaPolicy.objects.create(organisation=world.org_a, same_day_enabled=False)
    agent.member.time_zone = "Asia/Shanghai"
    agent.member.save()
    # and three buyers who wrote 1 minute, 23.5 hours and 25 hours ago
    now = time.time()
    chats = {}
    for name, ago in (("ok", 60), ("warning", 23.5 * HOUR), ("breached", 25 * HOUR)):
        cid, _ = sim.buyer_message(
            shop.platform_shop_id,
            buyer_user_id=f"sla-{name}",
            nickname=f"Buyer {name}",
            text="Where is my parcel?",
            at=now - ago,
        )
        chats[name] = cid
    assert set(sim.deliver_webhooks()["statuses"]) == {200}
    rows = {k: Conversation.objects.get(platform_conversation_id=v) for k, v in chats.items()}

    # When the agent opens the queue sorted by due time
    page = session.page_for(agent)
    page.goto(f"{session.base}/inbox/?sort=due")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    badge = {k: page.locator(f"#qrow-{c.id} [data-sla-badge]") for k, c in rows.items()}

    # Then each row's badge is in its state's colour, the breached one first
    expect(page.locator(".qrow").first).to_have_id(f"qrow-{rows['breached'].id}")
    expect(badge["ok"]).to_have_class("sla-badge sla-ok")
    expect(badge["warning"]).to_have_class("sla-badge sla-warning")
    expect(badge["breached"]).to_have_class("sla-badge sla-breached")
    colours = {k: b.evaluate("e => getComputedStyle(e).backgroundColor") for k, b in badge.items()}
    assert len(set(colours.values())) == 3, colours
    text = {k: b.locator("[data-sla-text]") for k, b in badge.items()}
    expect(text["ok"]).to_have_text(re.compile(r"^23h 5\dm$"))
    expect(text["warning"]).to_have_text(re.compile(r"^(2[89]|30)m$"))
    expect(text["breached"]).to_have_text(re.compile(r"^overdue 1h [0-2]m$"))
    title = badge["warning"].get_attribute("title") or ""
    assert "shop time (America/Los_Angeles)" in title and "your time (Asia/Shanghai)" in title

    # When the agent answers the warning one, and the platform accepts the reply
    page.evaluate(
        "window.slaEvents = [];"
        "document.addEventListener('scrm:event', (e) => {"
        "  if (e.detail.type === 'sla.deadline') window.slaEvents.push(e.detail.data); });"
    )
    page.locator(f"#qrow-{rows['warning'].id} .qlink").click()
    expect(page.locator("#conv-title")).to_have_text("Buyer warning")
    page.locator("#composer-text").fill("It ships today.")
    page.keyboard.press("Enter")
    reply = page.locator(".msg-out:not(.is-optimistic)", has_text="It ships today.")
    expect(reply).to_have_attribute("data-state", "sent")

    # Then its deadline closes (sla.deadline with no deadline left) and its badge leaves
    # live; the others keep theirs
    closed = rows["warning"].id
    page.wait_for_function(
        f"window.slaEvents.some(d => d.subject === 'conversation' && d.id === {closed}"
        " && d.deadline === null)"
    )
    expect(badge["warning"]).to_have_count(0)
    expect(badge["ok"]).to_have_count(1)
    expect(badge["breached"]).to_have_count(1)

    # And an sla.deadline that moves a deadline recolours its badge at once, without a read
    ok_id, past = rows["ok"].id, "2020-01-01T00:00:00+00:00"
    page.evaluate(
        "([id, due]) => window.scrmSla.onDeadline({subject: 'conversation', id,"
        " deadline: {kind: 'first_reply', due_at: due, warn_at: null}})",
        [ok_id, past],
    )
    expect(badge["ok"]).to_have_class("sla-badge sla-breached")
    assert page.js_errors == []  # type: ignore[attr-defined]
