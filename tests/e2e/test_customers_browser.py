"""Customer profiles in a browser, in both languages: a supervisor finds a buyer by typing the
start of her name, edits her profile, adds a note and a follow-up (marked done), merges a
second profile of the same person into hers and undoes it. Phones stay masked throughout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from inbox.models import Customer
from tests.inbox.profile_builders import buyer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+1 415 555 4821"

TEXT = {
    "en": {
        "customers": "Customers",
        "edit": "Edit",
        "save": "Save",
        "saved": "Profile saved.",
        "add_note": "Add note",
        "note_added": "Note added.",
        "add_follow_up": "Add follow-up",
        "follow_up_added": "Follow-up added.",
        "mark_done": "Mark done",
        "done": "Follow-up done.",
        "merge_open": "Merge another profile into this one",
        "merge": "Merge",
        "merged": "Profiles merged.",
        "undo": "Undo merge",
        "undone": "Merge undone.",
    },
    "zh-hans": {
        "customers": "客户",
        "edit": "编辑",
        "save": "保存",
        "saved": "资料已保存。",
        "add_note": "添加备注",
        "note_added": "备注已添加。",
        "add_follow_up": "添加跟进",
        "follow_up_added": "跟进已添加。",
        "mark_done": "标为完成",
        "done": "跟进已完成。",
        "merge_open": "将另一个资料合并到此资料",
        "merge": "合并",
        "merged": "资料已合并。",
        "undo": "撤销合并",
        "undone": "合并已撤销。",
    },
}


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_search_edit_note_follow_up_merge_and_undo(session, world, lang):
    words = TEXT[lang]
    # Given two buyers of shop a1, and a second profile of Alice in shop a2
    alice = buyer(world.shop_a1, "Alice Wong", phone=PHONE)
    buyer(world.shop_a1, "Bob Stone")
    twin = buyer(world.shop_a2, "Alice W.")
    page = session.page_for(world.supervisor_a, lang=lang)

    # When the supervisor opens Customers and types the start of her name
    page.goto(session.base + "/inbox/manage/organisation/")
    page.get_by_role("link", name=words["customers"], exact=True).first.click()
    # (typed once the page has loaded and its scripts run: keys pressed before htmx wires the
    # field send nothing, which a loaded machine showed as a list never narrowed)
    page.wait_for_url(re.compile(r"/customers/$"), wait_until="load")
    page.locator("#customer-q").press_sequentially("ali", delay=40)
    # Then the results narrow as she types (no page load), Bob is gone
    rows = page.locator("#customer-results tr[data-customer]")
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-customer="{alice.id}"]')).to_be_visible()
    expect(page.locator("#customer-results")).not_to_contain_text("Bob")
    expect(page.locator("#customer-results")).not_to_contain_text("415 555")

    # When she opens Alice's profile and edits it
    page.locator(f'tr[data-customer="{alice.id}"] a').click()
    expect(page.locator("#customer-name")).to_contain_text("Alice Wong")
    expect(page.locator('[data-field="phone"]')).to_contain_text("4821")
    expect(page.locator("#profile-facts")).not_to_contain_text("415 555")
    page.locator("#edit-profile summary").click()
    page.locator("#id_country").fill("GB")
    page.locator("#id_tags").fill("vip, repeat buyer")
    page.locator("#profile-form").get_by_role("button", name=words["save"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["saved"])
    expect(page.locator("#profile-tags")).to_contain_text("vip")

    # And adds a note and a follow-up, then marks it done
    page.locator("#id_note").fill("Prefers e-mail")
    page.get_by_role("button", name=words["add_note"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["note_added"])
    expect(page.locator("#profile-notes")).to_contain_text("Prefers e-mail")
    page.locator("#id_promise").fill("Send the tracking number")
    page.locator("#id_due_at").fill("2027-01-02T09:30")
    page.get_by_role("button", name=words["add_follow_up"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["follow_up_added"])
    item = page.locator("#profile-follow-ups li[data-follow-up]")
    expect(item).to_contain_text("Send the tracking number")
    item.get_by_role("button", name=words["mark_done"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["done"])
    expect(page.locator('#profile-follow-ups li[data-done="1"]')).to_have_count(1)

    # And merges the second profile into Alice's, then undoes it
    page.locator("#merge-dialog summary").filter(has_text=words["merge_open"]).click()
    page.locator("#id_merged_id").fill(str(twin.id))
    page.locator("#merge-form").get_by_role("button", name=words["merge"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["merged"])
    expect(page.locator("#profile-timeline li[data-kind=conversation]")).to_have_count(2)
    assert Customer.objects.get(id=twin.id).merged_into_id == alice.id
    page.get_by_role("button", name=words["undo"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["undone"])
    expect(page.locator("#profile-timeline li[data-kind=conversation]")).to_have_count(1)
    assert Customer.objects.get(id=twin.id).merged_into_id is None
    assert not re.search(r"415.?555", page.content())
    assert page.js_errors == []
