"""The shop-score readiness panel in a browser, in Chinese: a supervisor opens the overview
from the navigation, the shop's panel shows its figures against the levels, the advice and the
charts drawn inline (no script, nothing fetched outside the site), and the daily CSV downloads
and is audited."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import AuditEvent
from tests.e2e.test_browser_hygiene import Watch
from tests.monitoring.metrics_builders import seed_recent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_reads_the_readiness_panel_in_chinese(session, world):
    # Given a London shop's last two weeks (2 of 3 chats and 1 of 2 returns within 24 h)
    seed_recent(world.shop_a2, timezone.now().replace(microsecond=0))
    page = session.page_for(world.supervisor_a, lang="zh-hans")
    watch = Watch(page, session.base)
    # When the supervisor follows the navigation to the shop score
    page.goto(f"{session.base}/sla/risk/")
    page.get_by_role("link", name="店铺评分").first.click()
    expect(page.locator("h1")).to_have_text("店铺评分就绪情况")
    row = page.locator(f'tr[data-shop="{world.shop_a2.id}"]')
    expect(row.locator('[data-figure="first_response_rate"]')).to_contain_text("66.7%")
    expect(row.locator('[data-figure="negative_review_rate"]')).to_contain_text("无法提供")
    # and opens the shop's panel
    row.get_by_role("link", name=world.shop_a2.name).click()
    expect(page.locator("#insights-title")).to_contain_text("A2 UK")
    first = page.locator('#insights-figures tr[data-figure="first_response_rate"]')
    expect(first).to_have_attribute("data-status", "at_risk")
    expect(first).to_contain_text("24 小时内首次响应")
    expect(first).to_contain_text("有风险")
    expect(page.locator('[data-advice="due_soon"]')).to_contain_text("4 小时")
    expect(page.locator("#insights-charts svg")).to_have_count(3)
    watch.assert_clean("the readiness panel")
    # When the supervisor exports the daily figures
    with page.expect_download() as download:
        page.locator("#insights-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    # Then the file has the 60 days, and the export is in the audit log
    assert len(rows) == 61 and sum(int(r[1]) for r in rows[1:]) == 3
    assert AuditEvent.objects.filter(
        action="insights.exported", actor_id=world.supervisor_a.id
    ).exists()
