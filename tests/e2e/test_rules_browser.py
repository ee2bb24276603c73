"""Issue 17's rules acceptance, in a browser with the simulator over HTTP: a supervisor creates
the rule "damaged in transit and refund at most 20 USD -> approve, with a quick reply", runs it
dry over a seeded history (the cases and the total on the page), enables it through the warning
that an automatic decision cannot be taken back; then a buyer's "damaged in transit" request of
12.50 USD arrives by webhook and, within a minute and with no person involved, the platform
records the rule's approval once and the buyer gets the rule's reply once. The rule's page lists
what it did. Background work runs as the mode deploys it (``mode_worker``)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inbox.models import (
    AfterSalesCase,
    AfterSalesRule,
    Conversation,
    OutboxAction,
    RuleApplication,
    WebhookEvent,
)
from inbox.models.outbox import OPEN_STATES
from tests.e2e.test_after_sales_acceptance import Control, _eventually, mode_worker
from tests.factories import QuickReplyFactory
from tests.inbox.rules_builders import DAMAGED, seeded_case

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["mode_worker"]  # a fixture used by name

BUYER = "7494000000000417"
REPLY = "Sorry it arrived damaged: your refund is approved, no need to send it back."


def test_a_supervisor_dry_runs_and_enables_a_rule_that_then_approves_a_damaged_request(
    session, world, platform, mode_worker
):
    shop = world.shop_a1
    sim = Control(platform.server.base_url)
    QuickReplyFactory(organisation=world.org_a, title="Damaged: approved", body=REPLY)
    # Given a history: two damaged requests under the limit and one over it, in the last 30 days
    now = timezone.now()
    seeded_case(shop, at=now - timedelta(days=3), amount="15.00")
    seeded_case(shop, at=now - timedelta(days=12), amount="4.50")
    seeded_case(shop, at=now - timedelta(days=5), amount="35.00")

    # When the supervisor writes the rule
    page = session.page_for(world.supervisor_a, height=1400)
    page.goto(f"{session.base}/inbox/rules/")
    expect(page.locator("#rules-empty")).to_be_visible()
    page.locator("#rule-new").click()
    page.fill("#id_name", "Damaged in transit under $20")
    page.locator("input[name=kinds][value=refund]").check()
    page.locator("input[name=kinds][value=return_and_refund]").check()
    page.fill("#id_reason_codes", DAMAGED)
    page.fill("#id_amount_max", "20")
    page.fill("#id_currency", "USD")
    page.select_option("#id_decision", "approve")
    page.select_option("#id_quick_reply", label="Damaged: approved")
    page.locator("#rule-save").click()
    rule = _eventually(lambda: AfterSalesRule.objects.filter(organisation=world.org_a).first())
    page.wait_for_url(f"**/inbox/rules/{rule.id}/")
    # Then it is saved disabled, and enabling asks for a dry run first
    expect(page.locator("#rule-state")).to_have_attribute("data-enabled", "0")
    expect(page.locator("#enable-needs-dry-run")).to_be_visible()
    expect(page.locator("#rule-enable")).to_have_count(0)

    # When they run it dry
    page.locator("#dry-run-button").click()
    # Then the page lists the two cases it would have approved, and their total
    expect(page.locator("#dry-run-summary")).to_have_attribute("data-matched", "2")
    expect(page.locator("#dry-run-total")).to_have_text("19.50 USD")
    expect(page.locator("#dry-run-table tbody tr")).to_have_count(2)
    expect(page.locator("#dry-run-table")).to_contain_text("APPROVE_REFUND")

    # When they enable it: the warning says a decision cannot be taken back, and asks to confirm
    warning = page.locator("#enable-warning")
    expect(warning).to_contain_text("cannot be taken back")
    page.locator("#rule-enable").click()  # not confirmed: the browser refuses the form
    expect(page.locator("#rule-state")).to_have_attribute("data-enabled", "0")
    page.locator("#enable-confirm").check()
    page.locator("#rule-enable").click()
    expect(page.locator("#rule-state")).to_have_attribute("data-enabled", "1")

    # When a buyer who chatted asks for a refund of a mug damaged in transit (12.50 USD)
    order = sim.post(
        "/_sim/order",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        products=[{"name": "Mug", "sku_name": "Blue", "price": "12.50"}],
        status="DELIVERED",
    )["order_id"]
    cid = sim.post(
        "/_sim/buyer_message",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Mia K.",
        text="My mug arrived damaged in transit",
    )["conversation_id"]
    sim.post(  # the buyer shows the order in the chat
        "/_sim/buyer_message",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Mia K.",
        type="ORDER_CARD",
        content={"order_id": order},
    )
    sim.post("/_sim/deliver_webhooks")
    _eventually(lambda: Conversation.objects.filter(platform_conversation_id=cid).exists())
    return_id = sim.post(
        "/_sim/return_request",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order,
        return_type="REFUND",
        reason_text="The mug arrived damaged in transit, the handle broke.",
    )["return_id"]
    asked = timezone.now()
    sim.post("/_sim/deliver_webhooks")

    # Then within a minute the platform has the rule's approval, once
    def decided() -> list:
        found = sim.get(f"/_sim/return_decisions?shop_id={shop.platform_shop_id}")["decisions"]
        return [(d["id"], d["decision"]) for d in found]

    assert _eventually(decided, timeout=60) == [(return_id, "APPROVE_REFUND")]

    # and the buyer got the rule's reply, once
    def replies() -> list:
        sent = sim.get(f"/_sim/sent_messages?shop_id={shop.platform_shop_id}")["sent_messages"]
        return [s for s in sent if (s.get("content") or {}).get("content") == REPLY]

    assert len(_eventually(replies, timeout=60)) == 1
    assert timezone.now() - asked < timedelta(minutes=1)
    case = AfterSalesCase.objects.get(platform_case_id=return_id)
    assert RuleApplication.objects.get(case=case).outcome == "applied"

    # And the rule's page lists what it did
    page.reload()
    row = page.locator("#applications-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(return_id)
    expect(row).to_contain_text("decision, reply")
    # nothing decided twice by the end (a late retry would show here)
    assert len(decided()) == 1 and len(replies()) == 1
    assert page.js_errors == []
    # The worker quiet before the test's database is emptied (a transaction still under way
    # then deadlocked with the flush's TRUNCATE once in CI): every webhook handled, every
    # delivery settled
    page.close()

    def quiet() -> bool:
        return (
            not WebhookEvent.objects.filter(status="received").exists()
            and not OutboxAction.objects.filter(state__in=OPEN_STATES).exists()
        )

    for _ in range(2):  # and still so a second later (a late webhook or task would show)
        _eventually(quiet, timeout=30)
        time.sleep(1.0)
    _eventually(quiet, timeout=30)


def test_the_rules_pages_speak_chinese(session, world):
    page = session.page_for(world.supervisor_a, lang="zh-hans")
    page.goto(f"{session.base}/inbox/rules/")
    expect(page.locator("h1")).to_have_text("售后规则")
    page.locator("#rule-new").click()
    expect(page.locator("#rule-save")).to_have_text("保存")
