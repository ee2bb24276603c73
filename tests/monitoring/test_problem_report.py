"""The weekly problem report of a shop over a seeded fortnight: literal counts by issue type
and SKU, shares, the trend against the week before, masked quotes; the page (supervisors
only), its CSV (audited) and the JSON API."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from inbox.models import Member
from monitoring.models import AuditEvent
from monitoring.problems.report import weekly_report
from tests.monitoring.problem_builders import SECRET, seed, seed_fortnight

pytestmark = pytest.mark.django_db

WEEK = date(2026, 11, 25)  # any day of the week of Monday 23 November


def test_the_weeks_counts_by_type_and_sku_and_the_trend(world):
    # Given the seeded fortnight in shop a1
    seed_fortnight(world.shop_a1)
    # When the supervisor reads the week of 23 November
    report = weekly_report(world.supervisor_a, shop_account_id=world.shop_a1.id, week=WEEK)
    # Then the week, its total and the earlier weeks' totals (the week before first)
    assert (report.week_start, report.week_end) == (date(2026, 11, 23), date(2026, 11, 29))
    assert report.earlier_weeks == (
        date(2026, 11, 16),
        date(2026, 11, 9),
        date(2026, 11, 2),
        date(2026, 10, 26),
    )
    assert (report.total, report.earlier_totals) == (7, (5, 1, 0, 0))
    # each type's count, share and share the week before
    assert [(t.issue_type, t.count, t.share, t.earlier_share) for t in report.types] == [
        ("damaged", 3, 43, 20),
        ("size", 2, 29, 80),
        ("late", 1, 14, 0),
        ("other", 1, 14, 0),
        ("colour", 0, 0, 0),
    ]
    # rows by SKU and type, most first, with the weeks before and the trend
    assert [(r.sku, r.issue_type, r.count, r.earlier, r.change, r.trend) for r in report.rows] == [
        ("MUG-1", "damaged", 3, (1, 0, 0, 0), 2, "up"),
        ("TEE-2", "size", 2, (4, 0, 0, 0), -2, "down"),
        ("", "other", 1, (0, 0, 0, 0), 1, "new"),
        ("MUG-1", "late", 1, (0, 0, 0, 0), 1, "new"),
    ]
    # quotes: the newest first, phones and e-mail addresses masked
    damaged = report.rows[0]
    assert damaged.quotes == (
        f"{SECRET} cracked, a***@b.com",
        f"{SECRET} cracked, a***@b.com",
        f"{SECRET} it broke, call me on +1 ***-***-4821",
    )
    assert report.next_week == date(2026, 11, 30)


def test_the_next_week_holds_only_its_own_days(world):
    seed_fortnight(world.shop_a1)
    report = weekly_report(
        world.supervisor_a, shop_account_id=world.shop_a1.id, week=date(2026, 11, 30)
    )
    assert (report.total, report.earlier_totals[0]) == (5, 7)
    assert [(r.sku, r.issue_type, r.count, r.trend) for r in report.rows] == [
        ("TEE-2", "size", 5, "up")
    ]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_and_the_csv_for_supervisors_only(world):
    seed_fortnight(world.shop_a1)
    url = f"/monitoring/problems/{world.shop_a1.id}/"
    # The supervisor sees the week's figures and the masked quotes
    page = _client(world.supervisor_a).get(url, {"week": "2026-11-25"})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="report-total">7<' in body
    assert "+1 ***-***-4821" in body and "4821" in body and "555 010" not in body
    # The CSV: literal lines, and the export is audited
    csv = _client(world.supervisor_a).get(f"{url}export.csv", {"week": "2026-11-25"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == (
        "shop,week_start,sku,issue_type,count,week_of_2026-11-16,week_of_2026-11-09,"
        "week_of_2026-11-02,week_of_2026-10-26,change,trend,quotes"
    )
    assert lines[1].startswith("A1 US,2026-11-23,MUG-1,damaged,3,1,0,0,0,2,up,")
    assert lines[2] == "A1 US,2026-11-23,TEE-2,size,2,4,0,0,0,-2,down,"
    assert lines[3] == "A1 US,2026-11-23,,other,1,0,0,0,0,1,new,"
    event = AuditEvent.objects.get(action="problem.report_exported")
    assert event.data == {"week_start": "2026-11-23", "rows": 4}
    assert event.shop_account_id == world.shop_a1.id
    # Agents, another organisation and unknown shops: 404
    for user in (world.agent_a1, world.supervisor_b):
        assert _client(user).get(url).status_code == 404
        assert _client(user).get(f"{url}export.csv").status_code == 404
    assert _client(world.supervisor_a).get("/monitoring/problems/999999/").status_code == 404
    # A bad week: 400 with the reason
    bad = _client(world.supervisor_a).get(url, {"week": "last tuesday"})
    assert bad.status_code == 400


def test_the_json_api(world, api):
    seed_fortnight(world.shop_a1)
    url = f"/api/v1/monitoring/problems/weekly/{world.shop_a1.id}/"
    r = api.as_user(world.supervisor_a).get(url, {"week": "2026-11-23"})
    assert r.status_code == 200
    data = r.json()
    assert (data["week_start"], data["total"], data["earlier_totals"]) == (
        "2026-11-23",
        7,
        [5, 1, 0, 0],
    )
    assert data["rows"][1] == {
        "sku": "TEE-2",
        "issue_type": "size",
        "count": 2,
        "earlier": [4, 0, 0, 0],
        "change": -2,
        "trend": "down",
        "quotes": [],
    }
    assert api.as_user(world.agent_a1).get(url).status_code == 404
    assert api.as_user(world.supervisor_b).get(url).status_code == 404
    assert api.as_user(world.supervisor_a).get(url, {"week": "nope"}).status_code == 400


def test_the_settings_page_manages_the_requirement_and_the_rules(world):
    client = _client(world.supervisor_a)
    assert client.get("/monitoring/problems/").status_code == 200
    r = client.post("/monitoring/problems/", {"action": "require", "require": "on"})
    assert r.status_code == 302
    r = client.post(
        "/monitoring/problems/",
        {
            "action": "add_rule",
            "kind": "sku_rising",
            "shop": "",
            "days": "3",
            "factor": "2",
            "min_count": "2",
        },
    )
    assert r.status_code == 302
    page = client.get("/monitoring/problems/").content.decode()
    assert 'id="require-issue-type" checked' in page and 'data-rule="' in page
    # bad figures: the page again with the reason, nothing added
    r = client.post(
        "/monitoring/problems/",
        {"action": "add_rule", "kind": "sku_rising", "days": "99", "factor": "2", "min_count": "2"},
    )
    assert r.status_code == 400 and "Days in a row: 2 to 14." in r.content.decode()
    # ... in Chinese for a supervisor who reads Chinese
    Member.objects.filter(user=world.supervisor_a).update(language="zh-hans")
    r = _client(world.supervisor_a).post(
        "/monitoring/problems/",
        {"action": "add_rule", "kind": "sku_rising", "days": "3", "factor": "50", "min_count": "2"},
    )
    assert r.status_code == 400 and "倍数须在 1.1 到 20 之间。" in r.content.decode()
    # agents: 404
    assert _client(world.agent_a1).get("/monitoring/problems/").status_code == 404
    assert (
        _client(world.agent_a1)
        .post("/monitoring/problems/", {"action": "require", "require": "on"})
        .status_code
        == 404
    )


def test_the_report_reads_in_a_fixed_number_of_queries(world, api, django_assert_max_num_queries):
    # Given the fortnight and as many again in other SKUs this week
    seed_fortnight(world.shop_a1)
    for n in range(12):
        seed(world.shop_a1, date(2026, 11, 24), "size", f"EXTRA-{n}", quote=f"{SECRET} {n}")
    url = f"/api/v1/monitoring/problems/weekly/{world.shop_a1.id}/"
    # When the supervisor reads the week: the same few queries whatever the rows
    client = api.as_user(world.supervisor_a)
    with django_assert_max_num_queries(8):
        r = client.get(url, {"week": "2026-11-23"})
    assert r.status_code == 200 and len(r.json()["rows"]) == 16
