"""The picker with a search term: the same visibility, archive and ordering rules as the plain
list, through the word index (every reply below shares the word "refund")."""

import pytest

from inbox.models import ShopMembership
from templates_app import services
from templates_app.models import QuickReply
from tests.templates_app.conftest import create_reply

BASE = "/api/v1/templates/"


@pytest.fixture
def refunds(world):
    """Org A: a reply of every scope mentioning refunds, a team reply for shops a1 and a2 at
    once, an archived one; org B: an organisation reply and a team reply for shop b1."""
    w = world
    sup = w.supervisor_a

    def reply(actor, title, **fields):
        return create_reply(
            actor, title=title, body=f"{title}: your refund is on its way.", **fields
        )

    made = {
        "org": reply(sup, "Org refund"),
        "team_a1": reply(sup, "Team A1 refund", scope="team", shop_account_ids=[w.shop_a1.id]),
        "team_a2": reply(sup, "Team A2 refund", scope="team", shop_account_ids=[w.shop_a2.id]),
        "team_both": reply(
            sup, "Team both refund", scope="team", shop_account_ids=[w.shop_a1.id, w.shop_a2.id]
        ),
        "sup_own": reply(sup, "Supervisor refund", scope="personal"),
        "mine_a1": reply(w.agent_a1, "Mine A1 refund", scope="personal"),
        "mine_a2": reply(w.agent_a2, "Mine A2 refund", scope="personal"),
        "archived": reply(sup, "Archived refund"),
        "org_b": reply(w.supervisor_b, "Org B refund"),
        "team_b1": reply(
            w.supervisor_b, "Team B1 refund", scope="team", shop_account_ids=[w.shop_b1.id]
        ),
    }
    services.quick_reply_archive(actor=sup, quick_reply_id=made["archived"].id)
    return made


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def titles(response):
    return {r["title"] for r in results(response)}


def test_agent_search_sees_own_personal_own_shops_team_and_organisation(api, world, refunds):
    # given replies of every scope matching "refund"; when agent_a1 (shop a1) searches "ref"
    found = results(api.as_user(world.agent_a1).get(BASE, {"search": "ref"}))
    # then: nothing of shop a2 alone, of another agent, of the supervisor, archived or of org B,
    # and a reply shared by two shops appears once
    assert sorted(r["title"] for r in found) == [
        "Mine A1 refund",
        "Org refund",
        "Team A1 refund",
        "Team both refund",
    ]


def test_other_agent_and_supervisor_search(api, world, refunds):
    assert titles(api.as_user(world.agent_a2).get(BASE, {"search": "refund"})) == {
        "Mine A2 refund",
        "Org refund",
        "Team A2 refund",
        "Team both refund",
    }
    # supervisors: every team reply of their organisation, their own personal ones only
    assert titles(api.as_user(world.supervisor_a).get(BASE, {"search": "refund"})) == {
        "Org refund",
        "Team A1 refund",
        "Team A2 refund",
        "Team both refund",
        "Supervisor refund",
    }
    assert titles(api.as_user(world.agent_b).get(BASE, {"search": "refund"})) == {
        "Org B refund",
        "Team B1 refund",
    }


def test_membership_of_another_organisations_shop_shows_nothing_of_it(api, world, refunds):
    # given agent_a1 somehow also a member of org B's shop b1
    ShopMembership.objects.create(user=world.agent_a1, shop_account=world.shop_b1)
    # then org B's team reply for b1 still stays out of their picker, searched or not
    for params in ({"search": "refund"}, {}):
        seen = titles(api.as_user(world.agent_a1).get(BASE, params))
        assert "Team B1 refund" not in seen and "Org B refund" not in seen


def test_archived_only_when_asked_and_still_scoped(api, world, refunds):
    sup = api.as_user(world.supervisor_a)
    assert "Archived refund" not in titles(sup.get(BASE, {"search": "refund"}))
    assert "Archived refund" in titles(sup.get(BASE, {"search": "refund", "archived": "true"}))
    # an archived reply of someone else's scope stays invisible with archived=true
    services.quick_reply_archive(actor=world.agent_a2, quick_reply_id=refunds["mine_a2"].id)
    agent = api.as_user(world.agent_a1)
    assert titles(agent.get(BASE, {"search": "refund", "archived": "true"})) == {
        "Archived refund",
        "Mine A1 refund",
        "Org refund",
        "Team A1 refund",
        "Team both refund",
    }


def test_search_results_most_used_first_then_newest(api, world, refunds):
    QuickReply.objects.filter(pk=refunds["team_a1"].pk).update(usage_count=9)
    QuickReply.objects.filter(pk=refunds["mine_a1"].pk).update(usage_count=4)
    found = results(api.as_user(world.agent_a1).get(BASE, {"search": "refund"}))
    # equal counts (0): the newer reply first
    assert [r["title"] for r in found] == [
        "Team A1 refund",
        "Mine A1 refund",
        "Team both refund",
        "Org refund",
    ]
    assert [r["usage_count"] for r in found] == [9, 4, 0, 0]


def test_search_pages_through_every_match_once_in_order(api, world, refunds):
    # given more matches than a page, with ties in usage
    for i in range(7):
        create_reply(world.supervisor_a, title=f"Extra {i}", body="Refund policy.")
    extra = QuickReply.objects.filter(title__startswith="Extra").order_by("id")
    for i, reply in enumerate(extra):
        QuickReply.objects.filter(pk=reply.pk).update(usage_count=i % 3)
    client = api.as_user(world.agent_a1)
    # when paging through with 3 per page
    seen, url, params = [], BASE, {"search": "refund", "page_size": 3}
    while url:
        body = client.get(url, params).json()
        seen.extend((r["usage_count"], r["id"]) for r in body["results"])
        url, params = body["next"], None
    # then every visible match once, most used first, newest first among equals
    assert len(seen) == len(set(seen)) == 11
    assert seen == sorted(seen, reverse=True)


def test_search_combines_with_category_and_scope(api, world, refunds):
    create_reply(world.supervisor_a, title="Logistics refund", category="logistics", body="refund")
    client = api.as_user(world.agent_a1)
    assert titles(client.get(BASE, {"search": "refund", "category": "logistics"})) == {
        "Logistics refund"
    }
    assert titles(client.get(BASE, {"search": "refund", "scope": "team"})) == {
        "Team A1 refund",
        "Team both refund",
    }
    assert titles(client.get(BASE, {"search": "refund", "scope": "personal"})) == {"Mine A1 refund"}


def test_every_search_term_must_match(api, world, refunds):
    create_reply(world.supervisor_a, title="Refund by card", body="We refund to your card.")
    client = api.as_user(world.agent_a1)
    assert titles(client.get(BASE, {"search": "refund card"})) == {"Refund by card"}
    assert titles(client.get(BASE, {"search": "card refund"})) == {"Refund by card"}
    assert titles(client.get(BASE, {"search": "refund zzz"})) == set()


def test_search_response_shape_of_a_team_reply(api, world, refunds):
    found = results(api.as_user(world.agent_a1).get(BASE, {"search": "both"}))
    assert len(found) == 1
    row = found[0]
    assert set(row) == {
        "id",
        "scope",
        "owner_id",
        "shop_account_ids",
        "title",
        "shortcut",
        "category",
        "default_language",
        "languages",
        "body",
        "translations",
        "custom_fields",
        "variables",
        "material_ids",
        "usage_count",
        "is_archived",
        "can_manage",
        "created_at",
        "updated_at",
    }
    assert row["shop_account_ids"] == sorted([world.shop_a1.id, world.shop_a2.id])
    assert row["scope"] == "team" and row["owner_id"] is None and row["can_manage"] is False
    assert row["languages"] == ["en"] and row["variables"] == []
