"""The buyer panel's live refresh of a case card keeps the latest state: when two reads of the
card overlap and the older one lands first, the newer one still ends on screen (it was dropped,
so a colleague's card could stay at "Sending to the platform…" after the platform accepted).

The two reads are held by the browser's request routing and released in the bad order; the
rest is the real app against the simulator."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from inbox.models import AfterSalesCase, Conversation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUYER = "7494000000000132"
CARD = re.compile(r"/inbox/cases/\d+/card/")


def test_an_older_card_read_landing_first_does_not_stay_on_screen(session, world, platform):
    sim, shop, agent = platform.sim, world.shop_a1, world.agent_a1
    cid, _ = sim.buyer_message(
        shop.platform_shop_id, buyer_user_id=BUYER, nickname="Ivy", text="Broken cup"
    )
    sim.order_create(shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000132001")
    sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Ivy",
        type="ORDER_CARD",
        content={"order_id": "576000000000132001"},
    )
    return_id = sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000132001"
    )
    sim.deliver_webhooks()
    conversation = Conversation.objects.get(platform_conversation_id=cid)
    case = AfterSalesCase.objects.get(platform_case_id=return_id)
    client = Client()
    client.force_login(agent)
    current = client.get(f"/inbox/cases/{case.id}/card/").content.decode()
    assert "Needs a decision" in current
    older = current.replace("Needs a decision", "STALE READ")

    page = session.page_for(agent)
    page.goto(f"{session.base}/inbox/c/{conversation.id}/")
    card = page.locator(f"#case-{case.id}")
    expect(card.locator(".badge.stage")).to_have_text("Needs a decision")
    held = []
    page.route(CARD, lambda route: held.append(route) if len(held) < 2 else route.continue_())

    # Given two live refreshes of the card whose reads overlap (two case.updated events)
    for n in (1, 2):
        page.evaluate(f"window.scrmPanel.refreshCard({case.id})")
        for _ in range(100):
            if len(held) == n:
                break
            page.wait_for_timeout(20)
        assert len(held) == n, "the card was not read"
    # When the older read lands first, then the newer one
    held[0].fulfill(status=200, content_type="text/html", body=older)
    expect(card.locator(".badge.stage")).to_have_text("STALE READ")
    held[1].fulfill(status=200, content_type="text/html", body=current)
    # Then the card ends in the newer state, not the older read's
    expect(card.locator(".badge.stage")).to_have_text("Needs a decision")
    assert page.js_errors == []
