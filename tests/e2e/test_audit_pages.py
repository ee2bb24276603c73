"""The audit pages in a browser: a supervisor filters the log by action, opens the behaviour
page with its charts; then both pages in Chinese."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from monitoring.services.audit import audit_record
from tests.e2e.conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _plant(world):
    for action in ("reply.submitted", "reply.submitted", "note.added"):
        audit_record(
            organisation_id=world.org_a.id,
            actor=world.agent_a1,
            action=action,
            shop_account_id=world.shop_a1.id,
            data={"conversation_id": 1},
        )


def test_filter_the_log_and_open_behaviour_in_both_languages(session, world):
    _plant(world)
    page = session.page_for(world.supervisor_a)
    page.goto(f"{session.base}/monitoring/audit/")
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator("#audit-rows tbody tr")).to_have_count(3)
    # When the supervisor filters by "Note added"
    page.locator("#filter-action").select_option("note.added")
    page.locator("#filter-apply").click()
    # Then only the note is listed, and the CSV link carries the filter
    expect(page.locator("#audit-rows tbody tr")).to_have_count(1)
    expect(page.locator("#audit-rows tbody tr")).to_have_attribute("data-action", "note.added")
    expect(page.locator("#audit-csv")).to_have_attribute(
        "href", "/monitoring/audit/export.csv?action=note.added"
    )
    page.screenshot(path=str(SCREENSHOTS / "audit-log-en.png"), full_page=False)
    # And the behaviour page shows each agent with a chart per figure
    page.locator(".manage-tabs a[href='/monitoring/behaviour/']").click()
    expect(page.locator("h1")).to_have_text("Agent behaviour")
    expect(page.locator(f'#behaviour-rows tr[data-agent="{world.agent_a1.id}"]')).to_be_visible()
    expect(page.locator("#behaviour-charts figure")).to_have_count(5)
    page.screenshot(path=str(SCREENSHOTS / "behaviour-en.png"), full_page=True)
    assert page.js_errors == []  # type: ignore[attr-defined]

    zh = session.page_for(world.supervisor_a, lang="zh-hans")
    zh.goto(f"{session.base}/monitoring/audit/?action=reply.submitted")
    expect(zh.locator("h1")).to_have_text("审计日志")
    expect(zh.locator("#audit-rows tbody tr")).to_have_count(2)
    zh.goto(f"{session.base}/monitoring/behaviour/")
    expect(zh.locator("h1")).to_have_text("坐席行为")
    expect(zh.locator("#behaviour-rule summary")).to_have_text("如何标记异常")
    assert zh.js_errors == []  # type: ignore[attr-defined]
