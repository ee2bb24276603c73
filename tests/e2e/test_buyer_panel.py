"""The buyer panel's after-sales cards in a real browser against the simulator: a buyer's
return with a photo arrives by webhook; the agent opens the conversation, sees the items, the
evidence (opened larger), the deadline in the shop's time and their own, and the order with
the recipient masked, and approves with a message to the buyer, once in the Chinese UI (the
message from a quick reply) and once in the English UI; the platform records one decision
each and the buyer gets each message."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from inbox.models import AfterSalesCase, Conversation
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import QuickReplyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUYER = "7494000000000042"


def _return(sim, shop, order_id: str, product: str, words: str) -> str:
    sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order_id,
        products=[(product, "Blue", "18.00"), ("Gift box", "Small", "4.00")],
        status="DELIVERED",
    )
    return sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order_id,
        reason_text=words,
        return_type="RETURN_AND_REFUND",
        evidence=["damaged-item"],
    )


def _sent_to_the_buyer(sim, shop, text: str, timeout: float = 15.0) -> bool:
    """Whether the platform received ``text`` from the shop within ``timeout``: the decision
    and its message are stored together but delivered by two outbox actions, so the card may
    show the decision accepted a moment before the message has reached the platform."""
    deadline = time.monotonic() + timeout
    while True:
        sent = [
            m.get("content", {}).get("content") for m in sim.sent_messages(shop.platform_shop_id)
        ]
        if text in sent or time.monotonic() > deadline:
            return text in sent
        time.sleep(0.1)


def _decide_with_message(page, card, message: str | None = None) -> None:
    card.locator("input[value=APPROVE_RETURN]").check()
    if message is not None:
        card.locator("textarea[name=message_text]").fill(message)
    card.locator("button[type=submit]").press("Enter")


def test_a_return_with_evidence_is_seen_and_approved_with_a_message_in_chinese_and_english(
    session, world, platform, settings
):
    sim, shop = platform.sim, world.shop_a1
    # The evidence photos are served by the app's own simulator mount (the demo's case)
    settings.SCRM_PUBLIC_URL = session.base
    sim.public_url = session.base + "/simulator/tiktok"
    agent = world.agent_a1
    refund = QuickReplyFactory(
        organisation=world.org_a,
        shortcut="refund",
        title="退款说明",
        body="您好，退货已批准，收到包裹后立即退款。",
    )
    # Given a buyer who chatted with shop a1 and asked for two returns with a photo each
    cid, _ = sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Emily R.",
        text="The bowl arrived broken",
        at=time.time() - 600,
    )
    first = _return(sim, shop, "576000000000042001", "Ceramic bowl", "The bowl arrived broken.")
    # and showed the order in the chat (how the inbox learns that this chat is that buyer)
    sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Emily R.",
        type="ORDER_CARD",
        content={"order_id": "576000000000042001"},
    )
    second = _return(sim, shop, "576000000000042002", "Glass vase", "The vase is cracked.")
    sim.deliver_webhooks()
    conversation = Conversation.objects.get(platform_conversation_id=cid)
    case1 = AfterSalesCase.objects.get(platform_case_id=first)
    case2 = AfterSalesCase.objects.get(platform_case_id=second)
    assert case1.evidence and case1.seller_deadline is not None

    # When the agent opens the conversation in the Chinese UI
    page = session.page_for(agent, lang="zh-hans", height=1700)
    page.goto(f"{session.base}/inbox/c/{conversation.id}/")
    card = page.locator(f"#case-{case1.id}")
    # Then the case shows its items, the buyer's words, the photo and the deadline twice
    expect(card).to_contain_text("Ceramic bowl")
    rows = card.locator(".case-items tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("SIM-SKU-1")  # the seller's SKU
    expect(rows.nth(0).locator("td.num").first).to_have_text("1")  # the quantity
    expect(rows.nth(1)).to_contain_text("Gift box")
    expect(card.locator(".case-refund")).to_have_text("22.00 USD")
    expect(card).to_contain_text("The bowl arrived broken.")
    expect(card.locator(".case-deadline")).to_contain_text("America/Los_Angeles")
    expect(card.locator(".case-deadline")).to_contain_text("Asia/Shanghai")
    expect(card.locator(".badge.stage")).to_have_text("待处理")  # our stage, in Chinese
    expect(card.locator(".case-platform-status")).to_have_text("买家申请退货/退款")
    expect(card.locator(".case-reason-code")).to_have_text("商品损坏")
    thumb = card.locator(".case-evidence img").first
    expect(thumb).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", thumb.element_handle())
    # the photo opens larger, and closes with Escape
    card.locator(".case-evidence a").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("dialog.evidence-viewer img")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog.evidence-viewer")).not_to_be_visible()
    # and the order, with the recipient masked
    orders = page.locator("#panel-orders")
    expect(orders).to_contain_text("#576000000000042001")
    recipient = sim.orders["576000000000042001"].recipient
    expect(orders).to_contain_text(recipient["name"][:2] + "**")
    expect(orders).not_to_contain_text(recipient["name"])
    expect(orders).not_to_contain_text(recipient["phone_number"])
    page.locator("#buyer").screenshot(path=str(SCREENSHOTS / "buyer-panel-zh.png"))

    # When the agent approves it, the message to the buyer filled from a quick reply
    card.locator(".case-qr-open").click()
    page.keyboard.type("refund")
    expect(card.locator(".case-qr-list [role=option]")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(card.locator("textarea[name=message_text]")).to_have_value(
        "您好，退货已批准，收到包裹后立即退款。"
    )
    _decide_with_message(page, card)
    # Then the card shows the decision accepted by the platform, which recorded it once
    card = page.locator(f"#case-{case1.id}")
    expect(card.locator(".decision").first).to_contain_text("同意退货")
    expect(card.locator(".decision").first).to_have_attribute("data-decision-state", "sent")
    assert [d["decision"] for d in sim.return_decisions(first)] == ["APPROVE_RETURN"]
    assert _sent_to_the_buyer(sim, shop, "您好，退货已批准，收到包裹后立即退款。")
    # and the quick reply counts as used once, as in a reply sent with it
    refund.refresh_from_db()
    assert refund.usage_count == 1
    assert page.js_errors == []

    # When the agent, now in the English UI, approves the second with a typed message while
    # their supervisor has the same conversation open
    watcher = session.page_for(world.supervisor_a, lang="en")
    watcher.goto(f"{session.base}/inbox/c/{conversation.id}/")
    expect(watcher.locator(f"#case-{case2.id}")).to_contain_text("Needs a decision")
    expect(watcher.locator("#live-state")).to_have_attribute("data-state", "live")
    page = session.page_for(agent, lang="en")
    page.goto(f"{session.base}/inbox/c/{conversation.id}/")
    card = page.locator(f"#case-{case2.id}")
    expect(card).to_contain_text("Glass vase")
    expect(card).to_contain_text("Needs a decision")
    expect(card.locator(".case-platform-status")).to_have_text("Return or refund requested")
    _decide_with_message(page, card, "Approved: please send the vase back with the label.")
    card = page.locator(f"#case-{case2.id}")
    expect(card.locator(".decision").first).to_contain_text("Approve the return")
    expect(card.locator(".decision").first).to_contain_text("Accepted by the platform")
    assert [d["decision"] for d in sim.return_decisions(second)] == ["APPROVE_RETURN"]
    assert _sent_to_the_buyer(sim, shop, "Approved: please send the vase back with the label.")
    assert page.js_errors == []
    # And the supervisor's card changed live (case.updated), without a reload
    watched = watcher.locator(f"#case-{case2.id} .decision").first
    expect(watched).to_contain_text("Accepted by the platform")
    assert watcher.js_errors == []
