"""The problem log in a browser: an agent resolves a conversation choosing its issue type
beside the Resolve button; a supervisor opens the shop's weekly report in Chinese, sees the
counts and the masked buyer's words, and exports the CSV."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from inbox.models import Conversation
from monitoring.models import AuditEvent
from monitoring.models.problems import ProblemRecord, TrendRule
from monitoring.problems.report import shop_today, week_start_of
from tests.e2e.conftest import SCREENSHOTS
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.problem_builders import seed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_agent_sets_an_issue_type_at_resolve(session, world):
    # Given a buyer who says (in Chinese) the parcel is late, in agent a1's queue
    chat = conversation_with_messages(
        world.shop_a1, buyer="王芳", texts=("还没收到货，物流太慢了",), waited=timedelta(minutes=20)
    )
    page = session.page_for(world.agent_a1)
    page.goto(f"{session.base}/inbox/c/{chat.id}/")
    # Then the header suggests "Late" beside the Resolve button
    picker = page.locator("#conv-issue-type")
    expect(picker).to_have_attribute("data-suggested", "late")
    expect(picker.locator("option").first).to_have_text("Suggested: Late")
    page.locator("#conv-header").screenshot(path=str(SCREENSHOTS / "problem-picker.png"))
    # When the agent picks "Missing part", types an SKU and resolves
    picker.select_option("missing_part")
    page.locator("#conv-issue-sku").fill("BOX-3")
    page.locator('#conv-header [data-action="resolve"]').click()
    expect(page.locator("#announcer")).to_have_text("Conversation resolved.")
    # Then the conversation is resolved with the agent's choice recorded
    assert Conversation.objects.get(id=chat.id).status == "resolved"
    record = ProblemRecord.objects.get(conversation_id=chat.id)
    assert (record.issue_type, record.suggested_type, record.sku) == (
        "missing_part",
        "late",
        "BOX-3",
    )
    assert record.set_by_id == world.agent_a1.pk
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_supervisor_reads_the_weekly_report_in_chinese_and_exports_it(session, world):
    # Given this week's problems in shop a1 (3 damaged MUG-1, one quote with a phone number)
    monday = week_start_of(shop_today(world.shop_a1.time_zone))
    seed(world.shop_a1, monday, "damaged", "MUG-1", 2)
    seed(world.shop_a1, monday, "damaged", "MUG-1", quote="碎了 call 13800138000")
    seed(world.shop_a1, monday - timedelta(weeks=1), "damaged", "MUG-1")
    page = session.page_for(world.supervisor_a, lang="zh-hans")
    page.goto(f"{session.base}/monitoring/problems/")
    # When they open the shop's report from the problem log, in Chinese
    page.locator(f'#problems-shops a[data-shop="{world.shop_a1.id}"]').click()
    expect(page.locator("h1")).to_have_text("每周问题报告：A1 US")
    # Then this week's count by SKU and type, the change, and the words masked
    row = page.locator('#report-rows tr[data-sku="MUG-1"][data-type="damaged"]')
    expect(row.locator("td[data-count]")).to_have_text("3")
    expect(row.locator("td[data-trend]")).to_have_text("+2")
    expect(row.locator("td", has_text="损坏")).to_have_count(1)
    expect(row.locator(".quotes q")).to_have_text("碎了 call ***-***-8000")
    page.screenshot(path=str(SCREENSHOTS / "problem-report-zh.png"), full_page=True)
    # When they export the CSV
    with page.expect_download() as download:
        page.locator("#report-csv").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith(f"A1 US,{monday.isoformat()},MUG-1,damaged,3,1,0,0,0,2,up,")
    # Then the export is in the audit log
    assert AuditEvent.objects.filter(action="problem.report_exported").count() == 1
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_supervisor_requires_the_type_and_adds_a_trend_rule_then_an_agent_must_choose(
    session, world
):
    # Given a supervisor on the problem log page
    page = session.page_for(world.supervisor_a)
    page.goto(f"{session.base}/monitoring/problems/")
    expect(page.locator("h1")).to_have_text("Problem log")
    # When they require an issue type at resolve and add a rule for shop a1
    page.locator("#require-issue-type").check()
    page.locator("#problems-require button[type=submit]").click()
    expect(page.locator("#problems-message")).to_have_text("Setting saved.")
    page.locator("#rule-kind").select_option("sku_rising")
    page.locator("#rule-shop").select_option(str(world.shop_a1.id))
    page.locator("#rule-days").fill("4")
    page.locator("#trend-rule-add button[type=submit]").click()
    expect(page.locator("#problems-message")).to_have_text("Rule added.")
    rule = TrendRule.objects.get()
    assert (rule.kind, rule.shop_account_id, rule.days) == ("sku_rising", world.shop_a1.id, 4)
    expect(page.locator(f'tr[data-rule="{rule.id}"]')).to_contain_text("A1 US")
    assert page.js_errors == []  # type: ignore[attr-defined]
    # Then an agent resolving without a type is told to choose, and nothing changes
    chat = conversation_with_messages(world.shop_a1, texts=("the strap is broken",))
    agent = session.page_for(world.agent_a1)
    agent.goto(f"{session.base}/inbox/c/{chat.id}/")
    expect(agent.locator("#conv-issue-type option").first).to_have_text(
        "Choose (suggested: Damaged)"
    )
    agent.locator('#conv-header [data-action="resolve"]').click()
    expect(agent.locator("#announcer")).to_have_text(
        "Choose an issue type to resolve this conversation."
    )
    assert Conversation.objects.get(id=chat.id).status == "open"
    # and with one chosen, it resolves
    agent.locator("#conv-issue-type").select_option("damaged")
    agent.locator('#conv-header [data-action="resolve"]').click()
    expect(agent.locator("#announcer")).to_have_text("Conversation resolved.")
    assert ProblemRecord.objects.get(conversation_id=chat.id).issue_type == "damaged"
    assert agent.js_errors == []  # type: ignore[attr-defined]
