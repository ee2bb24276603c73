"""Scope visibility, management rights, archive and audit through the public API."""

import pytest

from monitoring.models import AuditEvent
from templates_app.models import QuickReply

BASE = "/api/v1/templates/"


def titles(response):
    assert response.status_code == 200, response.content
    return {r["title"] for r in response.json()["results"]}


def test_agent_sees_personal_own_shop_team_and_organisation_only(api, world, replies):
    # given replies of every scope; when agent_a1 lists them
    seen = titles(api.as_user(world.agent_a1).get(BASE))
    # then: own personal, the team reply of shop a1 and the organisation reply; nothing else
    assert seen == {"Org wide", "Team A1", "Mine A1"}


def test_other_agent_and_supervisor_and_other_org(api, world, replies):
    assert titles(api.as_user(world.agent_a2).get(BASE)) == {"Org wide", "Team A2", "Mine A2"}
    # supervisors see every team reply of their organisation, never anyone's personal ones
    assert titles(api.as_user(world.supervisor_a).get(BASE)) == {"Org wide", "Team A1", "Team A2"}
    assert titles(api.as_user(world.agent_b).get(BASE)) == {"Org B"}


@pytest.mark.parametrize("key", ["mine_a2", "team_a2", "org_b"])
def test_invisible_replies_are_404_on_every_endpoint(api, world, replies, key):
    client = api.as_user(world.agent_a1)
    pk = replies[key].id
    for method, path, body in [
        ("get", f"{BASE}{pk}/", None),
        ("patch", f"{BASE}{pk}/", {"title": "stolen"}),
        ("post", f"{BASE}{pk}/archive/", {}),
        ("post", f"{BASE}{pk}/unarchive/", {}),
        ("post", f"{BASE}{pk}/render/", {"conversation_id": 1}),
        ("post", f"{BASE}{pk}/use/", {"conversation_id": 1}),
    ]:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
        assert "Mine" not in response.content.decode()
    assert QuickReply.objects.get(pk=pk).is_archived is False


def test_search_matches_shortcut_title_and_any_language_body(api, world, replies):
    client = api.as_user(world.supervisor_a)
    client.post(
        BASE,
        {
            "title": "Shipping time",
            "shortcut": "/ship",
            "body": "We ship within 2 days.",
            "translations": {"zh-hans": "我们两天内发货。"},
        },
        format="json",
    )
    assert titles(client.get(BASE, {"search": "SHIP"})) == {"Shipping time"}
    assert titles(client.get(BASE, {"search": "within 2"})) == {"Shipping time"}
    assert titles(client.get(BASE, {"search": "发货"})) == {"Shipping time"}
    assert titles(client.get(BASE, {"search": "ta1"})) == {"Team A1"}
    assert titles(client.get(BASE, {"search": "nothing like it"})) == set()


def test_most_used_first(api, world, replies):
    QuickReply.objects.filter(pk=replies["team_a1"].pk).update(usage_count=7)
    QuickReply.objects.filter(pk=replies["mine_a1"].pk).update(usage_count=3)
    results = api.as_user(world.agent_a1).get(BASE).json()["results"]
    assert [r["title"] for r in results] == ["Team A1", "Mine A1", "Org wide"]


def test_list_query_count_does_not_grow(api, world, django_assert_max_num_queries):
    from tests.templates_app.conftest import create_reply

    for i in range(30):
        create_reply(
            world.supervisor_a, title=f"T{i}", scope="team", shop_account_ids=[world.shop_a1.id]
        )
    client = api.as_user(world.agent_a1)
    # First call of this process: the member, the library revision with the agent's shops, then
    # the library read once (the rows' versions, their links, the rows, the materials).
    with django_assert_max_num_queries(6):
        response = client.get(BASE, {"search": "t"})
    assert len(response.json()["results"]) == 30
    # Every call after it: the member and the revision with the shops; the rest is in memory.
    with django_assert_max_num_queries(2):
        response = client.get(BASE, {"search": "t"})
    assert len(response.json()["results"]) == 30


def test_agent_creates_personal_but_not_team_or_organisation(api, world):
    client = api.as_user(world.agent_a1)
    ok = client.post(
        BASE, {"title": "Mine", "shortcut": "mine", "body": "Hi {{ buyer_name }}"}, format="json"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["scope"] == "personal" and ok.json()["owner_id"] == world.agent_a1.pk
    assert ok.json()["variables"] == ["buyer_name"] and ok.json()["can_manage"] is True
    for scope in ("team", "organisation"):
        denied = client.post(
            BASE,
            {
                "title": "X",
                "shortcut": "x",
                "body": "x",
                "scope": scope,
                "shop_account_ids": [world.shop_a1.id] if scope == "team" else [],
            },
            format="json",
        )
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "permission_denied"


def test_agent_cannot_edit_or_archive_shared_replies(api, world, replies):
    client = api.as_user(world.agent_a1)
    pk = replies["org"].id
    assert client.patch(f"{BASE}{pk}/", {"title": "no"}, format="json").status_code == 403
    assert client.post(f"{BASE}{pk}/archive/").status_code == 403
    assert client.get(f"{BASE}{pk}/").json()["can_manage"] is False


def test_team_reply_needs_shops_of_the_organisation(api, world):
    client = api.as_user(world.supervisor_a)
    body = {"title": "T", "shortcut": "t", "body": "x", "scope": "team"}
    none = client.post(BASE, body, format="json")
    assert none.status_code == 400 and "shop_account_ids" in none.json()["error"]["details"]
    foreign = client.post(BASE, {**body, "shop_account_ids": [world.shop_b1.id]}, format="json")
    assert foreign.status_code == 400
    assert foreign.json()["error"]["details"] == {"shop_account_ids": ["Unknown shop account."]}


def test_unknown_variable_is_refused_at_save(api, world):
    response = api.as_user(world.agent_a1).post(
        BASE,
        {"title": "T", "shortcut": "t", "body": "Hi {{ nickname }}, see {{ buyer.name }}"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "template_syntax"
    response = api.as_user(world.agent_a1).post(
        BASE,
        {
            "title": "T",
            "shortcut": "t",
            "body": "Hi {{ nickname }}",
            "translations": {"zh-hans": "你好 {{ vip_level }}"},
        },
        format="json",
    )
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "template_variables"
    assert error["details"]["unknown"] == ["nickname", "vip_level"]
    assert "buyer_name" in error["details"]["catalogue"]


def test_declared_custom_field_is_accepted(api, world):
    response = api.as_user(world.agent_a1).post(
        BASE,
        {
            "title": "Coupon",
            "shortcut": "coupon",
            "body": "Code: {{ coupon_code }}",
            "custom_fields": ["coupon_code"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["custom_fields"] == ["coupon_code"]


def test_update_and_archive_are_audited_without_body_text(api, world, replies):
    client = api.as_user(world.supervisor_a)
    pk = replies["team_a1"].id
    response = client.patch(
        f"{BASE}{pk}/", {"body": "Secret wording {{ shop_name }}"}, format="json"
    )
    assert response.status_code == 200 and response.json()["body"].startswith("Secret")
    assert client.post(f"{BASE}{pk}/archive/").json()["is_archived"] is True
    # archived replies leave the picker but stay readable by id
    assert "Team A1" not in titles(client.get(BASE))
    assert "Team A1" in titles(client.get(BASE, {"archived": "true"}))
    # (the quick reply's own events: saving it seeded the word list, whose id may be the same)
    events = list(
        AuditEvent.objects.filter(target_id=str(pk), action__startswith="quick_reply.")
        .order_by("id")
        .values_list("action", "data")
    )
    assert [a for a, _ in events] == [
        "quick_reply.created",
        "quick_reply.updated",
        "quick_reply.archived",
    ]
    assert events[1][1]["fields"] == ["body"]
    assert "Secret" not in str(events)


def test_unchanged_update_writes_no_audit(api, world, replies):
    pk = replies["mine_a1"].id
    before = AuditEvent.objects.count()
    api.as_user(world.agent_a1).patch(f"{BASE}{pk}/", {"title": "Mine A1"}, format="json")
    assert AuditEvent.objects.count() == before


def test_unarchive_brings_a_reply_back_to_the_picker_and_is_audited(api, world, replies):
    client = api.as_user(world.supervisor_a)
    pk = replies["org"].id
    client.post(f"{BASE}{pk}/archive/")
    assert "Org wide" not in titles(client.get(BASE))
    # when it is unarchived
    response = client.post(f"{BASE}{pk}/unarchive/")
    # then it is back in the picker, and the change is audited once (twice is once)
    assert response.status_code == 200 and response.json()["is_archived"] is False
    assert "Org wide" in titles(client.get(BASE))
    client.post(f"{BASE}{pk}/unarchive/")
    assert AuditEvent.objects.filter(action="quick_reply.unarchived").count() == 1
    # an agent may not unarchive a shared reply
    client.post(f"{BASE}{pk}/archive/")
    refused = api.as_user(world.agent_a1).post(f"{BASE}{pk}/unarchive/")
    assert refused.status_code == 403 and QuickReply.objects.get(pk=pk).is_archived
