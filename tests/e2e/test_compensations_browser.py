"""Compensation suggestions in a browser: a supervisor adds a standard compensation for damaged
items on its page (in Chinese), and an agent sees it, with its cost, on the card of a damaged
request in the buyer panel; switched off, it is no longer suggested."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import AfterSalesCase
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision
from tests.inbox.rules_builders import DAMAGED

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_adds_a_compensation_and_the_agent_sees_it_with_its_cost(session, world):
    shop = world.shop_a1
    conversation = conversation_with_messages(shop, buyer="Mia K.", texts=("It came broken",))
    case = case_needing_decision(shop, conversation=conversation)
    AfterSalesCase.objects.filter(id=case.id).update(reason_code=DAMAGED)

    # When the supervisor adds "a 5 USD coupon" for damaged items, on the page in Chinese
    page = session.page_for(world.supervisor_a, lang="zh-hans")
    page.goto(f"{session.base}/inbox/rules/compensations/")
    expect(page.locator("h1")).to_have_text("补偿建议")
    page.select_option("#id_issue_type", "damaged")
    page.select_option("#id_kind", "coupon")
    page.fill("#id_title", "5 USD coupon for the next order")
    page.fill("#id_cost", "5")
    page.fill("#id_currency", "usd")
    page.locator("#suggestion-form button[type=submit]").click()
    row = page.locator("#suggestions-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("5.00 USD")

    # Then the agent sees it on the damaged request's card, with its cost
    agent = session.page_for(world.agent_a1, height=1400)
    agent.goto(f"{session.base}/inbox/c/{conversation.id}/?case={case.id}")
    offer = agent.locator(f"#case-{case.id} .case-compensations")
    expect(offer).to_contain_text("5 USD coupon for the next order")
    expect(offer).to_contain_text("costs 5.00 USD")

    # When the supervisor switches it off, it is no longer suggested
    row.locator("button").click()
    expect(page.locator("#suggestions-table tbody tr button")).to_have_text("开启")
    agent.reload()
    expect(agent.locator(f"#case-{case.id}")).to_be_visible()
    expect(agent.locator(f"#case-{case.id} .case-compensations")).to_have_count(0)
    assert page.js_errors == [] and agent.js_errors == []
