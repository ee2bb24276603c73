"""GET /api/v1/queue/: the one queue (conversations and cases needing a decision) over REST."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.models import AfterSalesCase
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def rows(response):
    assert response.status_code == 200, response.content
    return [(r["type"], r[r["type"]]["id"]) for r in response.json()["results"]]


@pytest.fixture
def queue(world, settings):
    settings.SCRM_CHAT_REPLY_TARGET_MINUTES = 12 * 60
    return {
        "chat_late": conversation_with_messages(world.shop_a1, waited=13 * H),
        "case_soon": case_needing_decision(world.shop_a1, due_in=2 * H),
        "chat_new": conversation_with_messages(world.shop_a1, waited=timedelta(minutes=5)),
        "case_later": case_needing_decision(world.shop_a1, due_in=30 * H),
        "case_b": case_needing_decision(world.shop_b1, due_in=H),
    }


def test_the_queue_lists_cases_and_conversations_by_due_time(world, api, queue):
    got = rows(api.as_user(world.agent_a1).get("/api/v1/queue/"))
    assert got == [
        ("conversation", queue["chat_late"].id),
        ("case", queue["case_soon"].id),
        ("conversation", queue["chat_new"].id),
        ("case", queue["case_later"].id),
    ]


def test_a_case_row_carries_its_deadline_and_decision_state(world, api, queue):
    body = api.as_user(world.agent_a1).get("/api/v1/queue/?kind=cases").json()
    first = body["results"][0]
    assert first["type"] == "case" and "conversation" not in first
    case = first["case"]
    assert case["id"] == queue["case_soon"].id and case["stage"] == "needs_decision"
    assert case["seller_deadline"] == queue["case_soon"].seller_deadline.isoformat()
    assert first["due_at"] == case["seller_deadline"]
    assert case["decision_state"] == ""


def test_next_pages_through_the_merged_order_once(world, api, queue):
    client = api.as_user(world.agent_a1)
    whole = rows(client.get("/api/v1/queue/?page_size=100"))
    seen, url = [], "/api/v1/queue/?page_size=1"
    while url:
        response = client.get(url)
        seen += rows(response)
        url = response.json()["next"]
    assert seen == whole


def test_kind_filters_and_bad_input(world, api, queue):
    client = api.as_user(world.agent_a1)
    assert {t for t, _ in rows(client.get("/api/v1/queue/?kind=cases"))} == {"case"}
    assert {t for t, _ in rows(client.get("/api/v1/queue/?kind=conversations"))} == {"conversation"}
    bad = client.get("/api/v1/queue/?kind=orders")
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["details"]
    assert client.get("/api/v1/queue/?cursor=nonsense").status_code == 400


def test_other_shops_cases_are_never_listed(world, api, queue):
    assert rows(api.as_user(world.agent_b).get("/api/v1/queue/")) == [("case", queue["case_b"].id)]
    shop_b = f"/api/v1/queue/?shop={world.shop_b1.id}"
    assert rows(api.as_user(world.supervisor_a).get(shop_b)) == []


def test_the_queue_queries_do_not_grow_with_rows(world, api, django_assert_max_num_queries):
    for _ in range(30):
        conversation_with_messages(world.shop_a1)
        case_needing_decision(world.shop_a1)
    client = api.as_user(world.agent_a1)
    with django_assert_max_num_queries(9):  # 8, and one for the page's open SLA deadlines
        response = client.get("/api/v1/queue/")
    assert len(response.json()["results"]) == 50
    AfterSalesCase.objects.update(stage="decided")
    assert {t for t, _ in rows(client.get("/api/v1/queue/"))} == {"conversation"}
