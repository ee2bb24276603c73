"""The after-sales rules API and pages: supervisors manage rules, dry-run and enable them;
agents are refused, another organisation gets 404; bad input is a 400 naming the field; the
compensation suggestions reach the agent on the case (API and case card)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from inbox.models import AfterSalesRule, CompensationSuggestion
from tests.inbox.rules_builders import DAMAGED, seeded_case

pytestmark = pytest.mark.django_db

RULE = {
    "name": "Damaged under $20",
    "kinds": ["refund"],
    "reason_codes": [DAMAGED],
    "amount_max": "20.00",
    "currency": "USD",
    "decision": "approve",
}


def test_a_supervisor_creates_dry_runs_enables_and_disables_a_rule(world, api):
    client = api.as_user(world.supervisor_a)
    seeded_case(world.shop_a1, at=timezone.now())
    created = client.post("/api/v1/after-sales-rules/", RULE, format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert (rule["is_enabled"], rule["version"], rule["conditions"]["amount_max"]) == (
        False,
        1,
        "20.00",
    )
    base = f"/api/v1/after-sales-rules/{rule['id']}"
    assert client.get(f"{base}/dry-run/").status_code == 404
    refused = client.post(f"{base}/enable/", {"confirm": True}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "dry_run_required")
    run = client.post(f"{base}/dry-run/", format="json")
    assert run.status_code == 201
    assert (run.json()["matched"], run.json()["totals"], run.json()["current"]) == (
        1,
        {"USD": "10.00"},
        True,
    )
    unconfirmed = client.post(f"{base}/enable/", {}, format="json")
    assert (unconfirmed.status_code, unconfirmed.json()["error"]["code"]) == (
        400,
        "confirm_required",
    )
    enabled = client.post(f"{base}/enable/", {"confirm": True}, format="json")
    assert enabled.status_code == 200 and enabled.json()["is_enabled"] is True
    edited = client.put(f"{base}/", {**RULE, "amount_max": "25"}, format="json")
    assert (edited.json()["version"], edited.json()["is_enabled"]) == (2, False)
    assert client.get(f"{base}/dry-run/").json()["current"] is False
    assert client.post(f"{base}/disable/").json()["is_enabled"] is False
    assert client.get(f"{base}/applications/").json() == []
    assert [r["id"] for r in client.get("/api/v1/after-sales-rules/").json()] == [rule["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RULE, "amount_max": "lots"}, "amount_max"),
        ({**RULE, "amount_max": "-1"}, "amount_max"),
        ({**RULE, "currency": ""}, "currency"),
        ({**RULE, "kinds": ["teleport"]}, "kinds"),
        ({**RULE, "kinds": [{"a": 1}]}, "kinds"),
        ({**RULE, "decision": "refund everything"}, "decision"),
        ({**RULE, "name": ""}, "name"),
        ({**RULE, "name": 7}, "name"),
        ({**RULE, "refunds_month_min": "0"}, "refunds_month_min"),
        ({**RULE, "shop_account_ids": [10**30]}, "shop_account_ids"),
        ({**RULE, "amount_min": "30"}, "amount_max"),
        ({**RULE, "quick_reply": 999_999}, "quick_reply"),
        ({**RULE, "assign_to": 999_999}, "assign_to"),
    ],
)
def test_bad_rule_input_is_a_400_naming_the_field_and_stores_nothing(world, api, body, field):
    response = api.as_user(world.supervisor_a).post(
        "/api/v1/after-sales-rules/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field
    assert not AfterSalesRule.objects.exists()


def test_a_json_array_body_is_a_400(world, api):
    response = api.as_user(world.supervisor_a).post(
        "/api/v1/after-sales-rules/", [RULE], format="json"
    )
    assert response.status_code == 400


def test_another_shop_of_another_organisation_and_agents_are_refused(world, api):
    rule = api.as_user(world.supervisor_a).post("/api/v1/after-sales-rules/", RULE, format="json")
    rule_id = rule.json()["id"]
    other = api.as_user(world.supervisor_b)
    assert other.get(f"/api/v1/after-sales-rules/{rule_id}/").status_code == 404
    assert other.post(f"/api/v1/after-sales-rules/{rule_id}/dry-run/").status_code == 404
    assert other.get("/api/v1/after-sales-rules/").json() == []
    agent = api.as_user(world.agent_a1)
    assert agent.get("/api/v1/after-sales-rules/").status_code == 403
    assert agent.post(f"/api/v1/after-sales-rules/{rule_id}/disable/").status_code == 403


def test_the_rule_list_costs_a_fixed_number_of_queries(world, api, django_assert_max_num_queries):
    client = api.as_user(world.supervisor_a)
    for n in range(5):
        client.post("/api/v1/after-sales-rules/", {**RULE, "name": f"r{n}"}, format="json")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/after-sales-rules/")
    assert len(response.json()) == 5


def test_compensation_suggestions_reach_the_agent_on_the_case(world, api):
    sup = api.as_user(world.supervisor_a)
    coupon = {
        "issue_type": "damaged",
        "kind": "coupon",
        "title": "5 USD coupon for the next order",
        "cost": "5",
        "currency": "usd",
    }
    assert sup.post("/api/v1/compensations/", coupon, format="json").status_code == 201
    resend = {**coupon, "kind": "resend", "title": "Send a new one", "cost": "8.40"}
    resend_id = sup.post("/api/v1/compensations/", resend, format="json").json()["id"]
    size = {**coupon, "issue_type": "size", "title": "Exchange the size"}
    assert sup.post("/api/v1/compensations/", size, format="json").status_code == 201
    bad = sup.post("/api/v1/compensations/", {**coupon, "cost": "NaN"}, format="json")
    assert (bad.status_code, bad.json()["error"]["details"]["field"]) == (400, "cost")
    # A damaged request in shop a1, seen by its agent
    case = seeded_case(world.shop_a1, at=timezone.now())
    agent = api.as_user(world.agent_a1)
    shown = agent.get(f"/api/v1/after-sales/{case.id}/compensations/").json()
    assert shown["issue_type"] == "damaged"
    assert [(s["title"], s["cost"], s["currency"]) for s in shown["suggestions"]] == [
        ("5 USD coupon for the next order", "5.00", "USD"),
        ("Send a new one", "8.40", "USD"),
    ]
    # switched off, it is no longer suggested
    switched = api.as_user(world.supervisor_a).patch(
        f"/api/v1/compensations/{resend_id}/", {"is_active": False}, format="json"
    )
    assert switched.json()["is_active"] is False
    shown = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/compensations/").json()
    assert [s["kind"] for s in shown["suggestions"]] == ["coupon"]
    # and the case card shows the suggestion with its cost
    client = Client()
    client.force_login(world.agent_a1)
    card = client.get(f"/inbox/cases/{case.id}/card/").content.decode()
    assert "5 USD coupon for the next order" in card and "costs 5.00 USD" in card
    # agents do not manage suggestions; another shop's agent does not see the case's
    assert api.as_user(world.agent_a1).get("/api/v1/compensations/").status_code == 403
    other = api.as_user(world.agent_a2)
    assert other.get(f"/api/v1/after-sales/{case.id}/compensations/").status_code == 404
    assert CompensationSuggestion.objects.count() == 3


def test_the_pages_create_and_show_a_rule_and_refuse_agents(world):
    client = Client()
    client.force_login(world.supervisor_a)
    assert client.get("/inbox/rules/").status_code == 200
    assert client.get("/inbox/rules/new/").status_code == 200
    refused = client.post("/inbox/rules/new/", {"name": "x", "decision": "approve"})
    assert refused.status_code == 400
    assert "needs a condition" in refused.content.decode()
    made = client.post(
        "/inbox/rules/new/",
        {
            "name": "Tag damaged",
            "reason_codes": f"{DAMAGED}\n",
            "kinds": ["refund", "return_and_refund"],
            "tag": "damaged",
        },
    )
    rule = AfterSalesRule.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/inbox/rules/{rule.id}/"
    assert (rule.kinds, rule.reason_codes, rule.tag) == (
        ["refund", "return_and_refund"],
        [DAMAGED],
        "damaged",
    )
    page = client.get(f"/inbox/rules/{rule.id}/").content.decode()
    assert "Run this version of the rule dry first" in page
    client.post(f"/inbox/rules/{rule.id}/dry-run/")
    page = client.get(f"/inbox/rules/{rule.id}/").content.decode()
    assert 'id="enable-warning"' in page
    assert client.post(f"/inbox/rules/{rule.id}/enable/").status_code == 400  # not confirmed
    client.post(f"/inbox/rules/{rule.id}/enable/", {"confirm": "1"})
    rule.refresh_from_db()
    assert rule.is_enabled
    agent = Client()
    agent.force_login(world.agent_a1)
    assert agent.get("/inbox/rules/").status_code == 403
    assert agent.get(f"/inbox/rules/{rule.id}/").status_code == 403
    other = Client()
    other.force_login(world.supervisor_b)
    assert other.get(f"/inbox/rules/{rule.id}/").status_code == 404
