"""The quick-reply library's pages in a browser, in both languages: a supervisor opens them from
the inbox navigation, creates a quick reply with an English and a Chinese version, edits it,
archives it and brings it back, and imports a file of replies."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from monitoring.models import AuditEvent
from templates_app.models import QuickReply

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "nav": "Quick replies",
        "new": "New quick reply",
        "create": "Create",
        "save": "Save",
        "archive": "Archive",
        "unarchive": "Unarchive",
        "status": "Status",
        "archived": "archived",
        "exchange": "Import and export",
        "import": "Import",
        "imported": "Imported: 2 new, 0 changed, 0 unchanged.",
        "saved": "saved",
        "languages": "English, 简体中文",  # the page's language is the default one
    },
    "zh-hans": {
        "nav": "快捷回复",
        "new": "新建快捷回复",
        "create": "创建",
        "save": "保存",
        "archive": "归档",
        "unarchive": "取消归档",
        "status": "状态",
        "archived": "已归档",
        "exchange": "导入与导出",
        "import": "导入",
        "imported": "已导入：新建 2 条，更新 0 条，未变 0 条。",
        "saved": "已保存",
        "languages": "简体中文, English",
    },
}

CSV = (
    "shortcut,title,category,scope,body,body:zh-hans\n"
    "hello,Hello,Greeting,organisation,Hello {{ buyer_name }}!,{{ buyer_name }}您好！\n"
    "bye,Goodbye,Closing,organisation,Goodbye!,再见！\n"
)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_create_edit_archive_and_import_quick_replies(session, world, lang, tmp_path):
    words = TEXT[lang]
    page = session.page_for(world.supervisor_a, lang=lang)
    console: list[str] = []
    page.on("console", lambda m: m.type == "error" and console.append(m.text))

    # Open the library from the inbox navigation
    page.goto(session.base + "/inbox/")
    page.get_by_role("link", name=words["nav"], exact=True).click()
    page.wait_for_url("**/quick-replies/")
    expect(page.locator("h1")).to_have_text(words["nav"])

    # Create a quick reply with an English and a Chinese version
    page.get_by_role("link", name=words["new"]).click()
    page.locator("#id_title").fill("Shipping time")
    page.locator("#id_shortcut").fill("ship")
    page.locator("#id_body__en").fill("Hi {{ buyer_name }}, your order ships tomorrow.")
    page.locator("#id_body__zh_hans").fill("{{ buyer_name }}您好，您的订单明天发货。")
    page.get_by_role("button", name=words["create"], exact=True).click()
    page.wait_for_url("**/quick-replies/")
    row = page.locator('#quick-replies tr[data-shortcut="ship"]')
    expect(row).to_contain_text("Shipping time")
    expect(row).to_contain_text(words["languages"])
    assert QuickReply.objects.get(shortcut="ship").bodies == {
        "en": "Hi {{ buyer_name }}, your order ships tomorrow.",
        "zh-hans": "{{ buyer_name }}您好，您的订单明天发货。",
    }

    # Edit it: a new title is saved and shown
    row.get_by_role("link", name="Shipping time").click()
    page.locator("#id_title").fill("Shipping tomorrow")
    page.get_by_role("button", name=words["save"], exact=True).click()
    expect(page.locator("p.notice")).to_contain_text(words["saved"])
    expect(page.locator("#id_title")).to_have_value("Shipping tomorrow")

    # Archive it from its row: it leaves the active list and shows under "Archived"
    page.goto(session.base + "/quick-replies/")
    row = page.locator('#quick-replies tr[data-shortcut="ship"]')
    row.get_by_role("button", name=words["archive"], exact=True).click()
    expect(page.locator('#quick-replies tr[data-shortcut="ship"]')).to_have_count(0)
    page.get_by_label(words["status"]).select_option("archived")
    page.locator(".library-filters button[type=submit]").click()
    row = page.locator('#quick-replies tr[data-shortcut="ship"]')
    expect(row).to_have_attribute("data-archived", "true")
    expect(row).to_contain_text(words["archived"])
    # and bring it back
    row.get_by_role("button", name=words["unarchive"], exact=True).click()
    expect(page.locator('#quick-replies tr[data-shortcut="ship"]')).to_have_count(0)
    assert not QuickReply.objects.get(shortcut="ship").is_archived

    # Import a file of replies
    page.get_by_role("link", name=words["exchange"]).click()
    upload = tmp_path / "replies.csv"
    upload.write_text(CSV, encoding="utf-8")
    page.locator("#id_file").set_input_files(str(upload))
    page.locator("form.stack").get_by_role("button", name=words["import"], exact=True).click()
    expect(page.locator("#import-result")).to_have_text(words["imported"])
    assert set(
        QuickReply.objects.filter(shortcut__in=["hello", "bye"]).values_list("title", flat=True)
    ) == {"Hello", "Goodbye"}
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "quick_reply.created",
        "quick_reply.updated",
        "quick_reply.archived",
        "quick_reply.unarchived",
        "quick_reply.imported",
    }
    assert page.js_errors == [] and console == []  # type: ignore[attr-defined]
