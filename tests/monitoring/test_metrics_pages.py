"""The shop-score pages, API and CSV export for the people who use them: the overview of
one's shops, a shop's readiness panel (English and Chinese), the JSON API's figures, the daily
CSV audited before it is sent; another shop's agent and another organisation get 404."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from inbox.models import Member
from monitoring.models import AuditEvent
from tests.monitoring.metrics_builders import seed_recent

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(world):
    now = timezone.now().replace(microsecond=0)
    seed_recent(world.shop_a2, now)
    return world


def test_the_overview_lists_the_viewers_shops_with_their_status(client, history):
    client.force_login(history.supervisor_a)
    page = client.get("/sla/insights/").content.decode()
    for shop in (history.shop_a1, history.shop_a2, history.shop_a3):
        assert f'data-shop="{shop.id}"' in page
    assert "66.7%" in page  # A2's first response within 24 h: 2 of 3
    assert "Not available" in page  # negative reviews: no data from the platform
    client.force_login(history.agent_a1)
    page = client.get("/sla/insights/").content.decode()
    assert f'data-shop="{history.shop_a1.id}"' in page
    assert f'data-shop="{history.shop_a2.id}"' not in page


def test_the_readiness_panel_shows_figures_advice_and_charts(
    client, history, django_assert_max_num_queries
):
    client.force_login(history.agent_a2)
    with django_assert_max_num_queries(30):
        response = client.get(f"/sla/insights/{history.shop_a2.id}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="first_response_rate" data-status="at_risk"' in page
    assert "66.7%" in page and "50.0%" in page  # chats, after-sales within 24 h
    assert "10 h 20 min" in page  # the chats' average first response, 37240 s
    assert 'data-advice="due_soon"' in page  # the return waiting 20 h is due within 4 h
    assert 'data-advice="waiting_late"' in page  # the one waiting 12 days
    charts = page.split('id="insights-charts"')[1].split("</section>")[0]
    assert charts.count("<svg") == 3 and "<circle" in charts  # lone days are dots
    assert "<script" not in charts


def test_the_panel_in_chinese(client, history):
    Member.objects.filter(user=history.supervisor_a).update(language="zh-hans")
    client.force_login(history.supervisor_a)
    page = client.get(f"/sla/insights/{history.shop_a2.id}/").content.decode()
    assert "店铺评分" in page
    assert "24 小时内首次响应" in page


def test_the_api_gives_the_figures_and_hides_other_shops(client, history):
    client.force_login(history.supervisor_a)
    body = client.get(f"/api/v1/sla/insights/{history.shop_a2.id}/").json()
    first = body["figures"]["first_response"]
    assert (first["requests"], first["within_24h"], first["rate_within_24h"]) == (3, 2, 0.6667)
    assert first["average_seconds"] == 37240.0
    sales = body["figures"]["after_sales"]
    assert (sales["requests"], sales["within_24h"], sales["share_within_24h"]) == (2, 1, 0.5)
    assert body["negative_review_rate"] is None
    assert body["advice"]["after_sales_due_within_4h"] == 1
    assert len(body["series"]) == 60
    listing = client.get("/api/v1/sla/insights/").json()["results"]
    assert {row["id"] for row in listing} == {
        history.shop_a1.id,
        history.shop_a2.id,
        history.shop_a3.id,
    }
    for outsider in (history.agent_a1, history.supervisor_b):
        client.force_login(outsider)
        assert client.get(f"/api/v1/sla/insights/{history.shop_a2.id}/").status_code == 404
        assert client.get(f"/sla/insights/{history.shop_a2.id}/").status_code == 404


def test_the_daily_csv_is_audited_before_it_is_sent(client, history):
    client.force_login(history.supervisor_a)
    response = client.get(f"/sla/insights/{history.shop_a2.id}/daily.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["date", "chat_requests", "chat_within_24h"]
    assert len(rows) == 61
    assert sum(int(r[1]) for r in rows[1:]) == 3 and sum(int(r[2]) for r in rows[1:]) == 2
    event = AuditEvent.objects.get(action="insights.exported")
    assert (event.actor_id, event.shop_account_id) == (history.supervisor_a.id, history.shop_a2.id)
    # another organisation's supervisor: 404, nothing recorded
    client.force_login(history.supervisor_b)
    assert client.get(f"/sla/insights/{history.shop_a2.id}/daily.csv").status_code == 404
    assert AuditEvent.objects.filter(action="insights.exported").count() == 1
