"""A buyer's data on request in a browser, in both languages: an admin opens the buyer's data
page, downloads the JSON, is refused with a wrong confirmation, then erases the buyer's data
with a reason and the customer's id typed. English runs write docs/screenshots/buyer-data.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from inbox.models import Customer, Role
from monitoring.models import AuditEvent
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAME = "Odalys Brightwater"
TEXT_IN = "My parcel QXPLUMHERON never came"
PHONE = "+1 212 555 0142"

WORDS = {
    "en": {
        "title": "Data held about customer #",
        "download": "Download JSON",
        "erase": "Erase this buyer's data",
        "mismatch": "Type the customer's id to confirm the erasure.",
        "erased": "The buyer's data was erased.",
    },
    "zh-hans": {
        "title": "的数据",
        "download": "下载 JSON",
        "erase": "删除该买家的数据",
        "mismatch": "请输入客户 ID 以确认删除。",
        "erased": "该买家的数据已删除。",
    },
}


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_an_admin_downloads_then_erases_a_buyers_data(session, world, lang):
    words = WORDS[lang]
    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    conversation = conversation_with_messages(world.shop_a1, buyer=NAME, texts=(TEXT_IN,))
    customer = conversation.customer
    customer.phone = PHONE
    customer.save()
    page = session.page_for(admin, lang=lang)
    # When the admin opens the buyer's data page
    page.goto(f"{session.base}/customers/{customer.id}/data/")
    expect(page.locator("h1")).to_contain_text(words["title"])
    expect(page.locator("#data-profile")).to_contain_text(PHONE)
    expect(page.locator("#data-conversations")).to_contain_text(TEXT_IN)
    if lang == "en":
        page.screenshot(path=str(SCREENSHOTS / "buyer-data.png"), full_page=True)
    # And downloads the JSON: the file holds the same, unmasked
    with page.expect_download() as download:
        page.get_by_role("link", name=words["download"]).click()
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert (document["profile"]["name"], document["profile"]["phone"]) == (NAME, PHONE)
    # When they confirm with a wrong id: refused, nothing erased
    page.fill("#erase-reason", "Buyer's request, ticket 91")
    page.fill("#erase-confirm", "0")
    page.get_by_role("button", name=words["erase"]).click()
    expect(page.locator("#data-error")).to_have_text(words["mismatch"])
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    # When they type the customer's id: the data is gone, the page says so
    page.fill("#erase-confirm", str(customer.id))
    page.get_by_role("button", name=words["erase"]).click()
    expect(page.locator("p.notice[role=status]")).to_have_text(words["erased"])
    expect(page.locator("#erased-state")).to_be_visible()
    expect(page.locator("#data-profile")).not_to_contain_text(PHONE)
    expect(page.locator("#data-conversations")).not_to_contain_text(TEXT_IN)
    expect(page.locator("#erase-submit")).to_have_count(0)
    assert AuditEvent.objects.filter(action="customer.erased", actor_id=admin.id).count() == 1
    assert page.js_errors == []
