"""Masking and reveal in a browser, in both languages: an admin gives an agent the reveal
permission for shop a1 on the person page; the agent reveals an order's phone with a reason
and sees it in place; an agent of the same shop without the permission sees it masked and no
Reveal button; the audit page shows the reveal with its reason. English runs write
docs/screenshots/reveal-*.png."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inbox.models import Order, Role, ShopMembership
from monitoring.models import AuditEvent
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "(+1)5550104821"
MASKED_PHONE = "+1 ***-***-4821"
TEXT = {
    "en": {
        "save": "Save customer data permission",
        "saved": "Customer data permission saved.",
        "reveal": "Reveal",
        "dialog": "Reveal customer data",
        "submit": "Reveal",
        "reason": "Courier cannot find the house",
        "audit_label": "Personal data revealed",
    },
    "zh-hans": {
        "save": "保存客户资料权限",
        "saved": "客户资料权限已保存。",
        "reveal": "查看",
        "dialog": "查看客户资料",
        "submit": "查看",
        "reason": "快递员找不到地址",
        "audit_label": None,  # the audit page's own translation, whatever it is
    },
}


def shot(page, name: str, lang: str) -> None:
    if lang == "en":
        page.screenshot(path=str(SCREENSHOTS / f"reveal-{name}.png"), full_page=True)


@pytest.fixture
def scene(world):
    conversation = conversation_with_messages(world.shop_a1, buyer="lina_shops")
    now = timezone.now()
    order = Order.objects.create(
        organisation=world.org_a,
        shop_account=world.shop_a1,
        platform_order_id="576000000000088001",
        customer=conversation.customer,
        status="DELIVERED",
        currency="USD",
        total_amount="24.00",
        recipient_name="Lina Wong",
        recipient_phone=PHONE,
        recipient_address='{"full_address": "88 Harbour Rd, Austin, TX 78701", "city": "Austin",'
        ' "region": "Texas", "region_code": "US"}',
        recipient_email="lina.wong@gmail.com",
        platform_created_at=now,
        platform_updated_at=now,
        fetched_at=now,
    )
    return conversation, order


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_admin_grants_agent_reveals_with_a_reason_and_the_audit_shows_it(
    session, world, scene, lang
):
    words = TEXT[lang]
    conversation, order = scene
    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    other = make_person(world.org_a, Role.AGENT, [world.shop_a1], username="agent_other")

    # Given the admin gives agent_a1 the permission for shop a1 on their person page
    page = session.page_for(admin, lang=lang)
    page.goto(f"{session.base}/inbox/manage/people/{world.agent_a1.id}/")
    form = page.locator("#reveal-permission-form")
    form.locator(f"input[name=reveal][value='{world.shop_a1.id}']").check()
    form.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_text(words["saved"])).to_be_visible()
    shot(page, "permission", lang)
    assert ShopMembership.objects.get(user=world.agent_a1, shop_account=world.shop_a1).can_reveal

    # When the agent opens the conversation, the order's recipient is masked with a button
    agent = session.page_for(world.agent_a1, lang=lang, height=1400)
    agent.goto(f"{session.base}/inbox/c/{conversation.id}/")
    phone = agent.locator(f"#order-{order.platform_order_id} [data-reveal-field=recipient_phone]")
    expect(phone.locator(".masked-value")).to_have_text(MASKED_PHONE)
    expect(agent.locator("#panel-orders")).not_to_contain_text("Lina Wong")
    # and reveals the phone with a reason
    phone.get_by_role("button", name=words["reveal"]).click()
    dialog = agent.locator("#reveal-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(words["dialog"])
    dialog.locator("#reveal-reason").fill(words["reason"])
    shot(agent, "dialog", lang)
    dialog.locator("#reveal-submit").click()
    # Then the phone shows in place, the dialog closes, the other values stay masked
    expect(phone.locator(".masked-value")).to_have_text(PHONE)
    expect(dialog).not_to_be_visible()
    expect(phone.locator("[data-reveal]")).to_have_count(0)
    expect(agent.locator("#panel-orders")).not_to_contain_text("Lina Wong")
    shot(agent, "revealed", lang)
    assert agent.js_errors == []
    event = AuditEvent.objects.get(action="customer.revealed")
    assert event.data["reason"] == words["reason"] and event.data["field"] == "recipient_phone"
    # and a page loaded again shows it masked again (the reveal lasts for that view)
    agent.reload()
    expect(phone.locator(".masked-value")).to_have_text(MASKED_PHONE)

    # An agent of the same shop without the permission sees it masked, and no button
    plain = session.page_for(other, lang=lang, height=1400)
    plain.goto(f"{session.base}/inbox/c/{conversation.id}/")
    masked = plain.locator(f"#order-{order.platform_order_id} [data-masked-field=recipient_phone]")
    expect(masked).to_have_text(MASKED_PHONE)
    expect(plain.locator("#panel-orders [data-reveal]")).to_have_count(0)
    expect(plain.locator("#panel-orders")).not_to_contain_text(PHONE)

    # The audit page shows the reveal, with its reason
    page.goto(f"{session.base}/monitoring/audit/")
    row = page.locator("#audit-rows tr[data-action='customer.revealed']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(words["reason"])
    if words["audit_label"]:
        expect(row).to_contain_text(words["audit_label"])
    shot(page, "audit", lang)
