"""After-sales cases in the one queue, in a real browser against the simulator: a return
request arrives by webhook and shows live as a row of its own with its deadline (in the
viewer's time and the shop's); the after-sales filter shows only cases; when a colleague
approves it from the buyer panel, the row leaves the agent's queue live. English and Chinese."""

from __future__ import annotations

import time
import zoneinfo

import pytest
from django.utils import dateformat, formats, translation
from playwright.sync_api import expect

from inbox.models import ANSWERED_SENTINEL, AfterSalesCase, Conversation, Member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUYER = "7494000000000077"
WORDS = {
    "en": {"due": "Due in", "cases_only": "After-sales only", "kind": "Return and refund"},
    "zh-hans": {"due": "剩余", "cases_only": "仅售后", "kind": "退货退款"},
}


def _shown(when, zone: str, lang: str) -> str:
    with translation.override(lang):
        fmt = formats.get_format("SHORT_DATETIME_FORMAT")
        return dateformat.format(when.astimezone(zoneinfo.ZoneInfo(zone)), fmt)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_a_return_shows_in_the_queue_filters_and_leaves_live_when_decided(
    session, world, platform, lang
):
    sim, shop, agent = platform.sim, world.shop_a1, world.agent_a1
    words = WORDS[lang]
    # Given a buyer chatting with shop a1, who showed their order in the chat
    cid, _ = sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Nora K.",
        text="My lamp is broken",
        at=time.time() - 300,
    )
    sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000077001",
        products=[("Desk lamp", "White", "30.00")],
        status="DELIVERED",
    )
    sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Nora K.",
        type="ORDER_CARD",
        content={"order_id": "576000000000077001"},
    )
    sim.deliver_webhooks()
    conversation = Conversation.objects.get(platform_conversation_id=cid)
    # and the agent's queue open
    page = session.page_for(agent, lang=lang)
    page.goto(f"{session.base}/inbox/")
    expect(page.locator(f"#qrow-{conversation.id}")).to_be_visible()
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    # When the buyer asks for a return (the platform's webhook)
    return_id = sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000077001",
        reason_text="It arrived broken.",
        return_type="RETURN_AND_REFUND",
    )
    sim.deliver_webhooks()
    case = AfterSalesCase.objects.get(platform_case_id=return_id)
    assert case.stage == "needs_decision" and case.seller_deadline is not None

    # Then it shows in the queue live, a row of its own with its deadline in both times
    row = page.locator(f"#qcase-{case.id}")
    expect(row).to_be_visible()
    expect(row).to_contain_text(words["kind"])
    expect(row.locator(".qdue")).to_contain_text(words["due"])
    viewer = Member.objects.get(user=agent).time_zone
    # (the due time shown is the case's open SLA deadline: the platform's when that is earlier)
    due = case.sla_due_at if case.sla_due_at < ANSWERED_SENTINEL else case.seller_deadline
    assert due <= case.seller_deadline
    expect(row.locator(".qdeadline time")).to_have_text(_shown(due, viewer, lang))
    expect(row.locator(".qshoptime")).to_contain_text(_shown(due, shop.time_zone, lang))
    assert row.locator("a").get_attribute("href") == f"/inbox/cases/{case.id}/"
    # reachable from the keyboard: its link takes the focus
    row.locator("a").focus()
    assert page.evaluate("document.activeElement.closest('li').id") == f"qcase-{case.id}"

    # When the agent shows after-sales only
    page.locator("#queue-kind").select_option(label=words["cases_only"])
    # Then only the case is listed
    expect(page.locator(f"#qrow-{conversation.id}")).to_have_count(0)
    expect(page.locator(".queue-list > li.qcase")).to_have_count(1)
    assert "kind=cases" in page.url

    # When a colleague approves it from the buyer panel
    other = session.page_for(world.supervisor_a, lang="en")
    other.goto(f"{session.base}/inbox/c/{conversation.id}/")
    card = other.locator(f"#case-{case.id}")
    card.locator("input[value=APPROVE_RETURN]").check()
    card.locator("button[type=submit]").press("Enter")
    expect(other.locator(f"#case-{case.id} .decision").first).to_contain_text(
        "Accepted by the platform"
    )
    # Then the case leaves the agent's queue live (no reload), and the view says it is empty
    expect(page.locator(f"#qcase-{case.id}")).to_have_count(0)
    expect(page.locator(".queue-empty")).to_be_visible()
    assert [d["decision"] for d in sim.return_decisions(return_id)] == ["APPROVE_RETURN"]
    assert page.js_errors == [] and other.js_errors == []
