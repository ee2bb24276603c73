"""Who sees which shop account, and who manages memberships, through the public API."""

from __future__ import annotations

import pytest

from monitoring.models import AuditEvent

pytestmark = pytest.mark.django_db


def ids(response):
    return sorted(row["id"] for row in response.json()["results"])


def test_agent_lists_only_member_shops(world, api):
    response = api.as_user(world.agent_a1).get("/api/v1/shop-accounts/")
    assert response.status_code == 200
    assert ids(response) == [world.shop_a1.id]


def test_supervisor_lists_every_shop_of_the_organisation_only(world, api):
    response = api.as_user(world.supervisor_a).get("/api/v1/shop-accounts/")
    assert ids(response) == sorted([world.shop_a1.id, world.shop_a2.id, world.shop_a3.id])


@pytest.mark.parametrize(
    ("who", "shop"),
    [("agent_a1", "shop_a2"), ("agent_a1", "shop_b1"), ("supervisor_a", "shop_b1")],
)
def test_shop_outside_access_is_404_not_403(world, api, who, shop):
    # Given a shop account the user may not see
    response = api.as_user(getattr(world, who)).get(
        f"/api/v1/shop-accounts/{getattr(world, shop).id}/"
    )
    # Then it does not exist for them, in the error envelope
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_member_shop_detail(world, api):
    response = api.as_user(world.agent_a2).get(f"/api/v1/shop-accounts/{world.shop_a3.id}/")
    assert response.status_code == 200
    assert response.json()["name"] == "A3 MY"
    assert "credentials" not in response.json()


def test_supervisor_grants_and_revokes_a_membership(world, api):
    # Given agent_a1 cannot see shop a2
    agent = api.as_user(world.agent_a1)
    assert agent.get(f"/api/v1/shop-accounts/{world.shop_a2.id}/").status_code == 404
    # When the supervisor grants the membership
    sup = type(api)().as_user(world.supervisor_a)
    created = sup.post(
        "/api/v1/memberships/",
        {"user_id": world.agent_a1.id, "shop_account_id": world.shop_a2.id},
        format="json",
    )
    assert created.status_code == 201, created.json()
    # Then the agent sees it, and the change is audited
    assert agent.get(f"/api/v1/shop-accounts/{world.shop_a2.id}/").status_code == 200
    assert AuditEvent.objects.filter(
        action="membership.created", actor=world.supervisor_a, organisation=world.org_a
    ).exists()
    # When the supervisor revokes it, the agent loses access again
    deleted = sup.delete(f"/api/v1/memberships/{created.json()['id']}/")
    assert deleted.status_code == 204
    assert agent.get(f"/api/v1/shop-accounts/{world.shop_a2.id}/").status_code == 404
    assert AuditEvent.objects.filter(action="membership.deleted").count() == 1


def test_duplicate_membership_is_409(world, api):
    sup = api.as_user(world.supervisor_a)
    body = {"user_id": world.agent_a1.id, "shop_account_id": world.shop_a1.id}
    response = sup.post("/api/v1/memberships/", body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_member"


def test_agent_cannot_manage_memberships(world, api):
    agent = api.as_user(world.agent_a1)
    assert agent.get("/api/v1/memberships/").status_code == 403
    response = agent.post(
        "/api/v1/memberships/",
        {"user_id": world.agent_a1.id, "shop_account_id": world.shop_a2.id},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_supervisor_cannot_reach_another_organisation(world, api):
    sup = api.as_user(world.supervisor_a)
    # another organisation's shop, and another organisation's person
    r1 = sup.post(
        "/api/v1/memberships/",
        {"user_id": world.agent_a1.id, "shop_account_id": world.shop_b1.id},
        format="json",
    )
    r2 = sup.post(
        "/api/v1/memberships/",
        {"user_id": world.agent_b.id, "shop_account_id": world.shop_a1.id},
        format="json",
    )
    assert (r1.status_code, r2.status_code) == (404, 404)
    listed = sup.get("/api/v1/memberships/").json()["results"]
    assert {m["shop_account_id"] for m in listed} <= {
        world.shop_a1.id,
        world.shop_a2.id,
        world.shop_a3.id,
    }
    other = type(api)().as_user(world.supervisor_b).get("/api/v1/memberships/").json()["results"]
    foreign = next(m for m in other if m["shop_account_id"] == world.shop_b1.id)
    assert sup.delete(f"/api/v1/memberships/{foreign['id']}/").status_code == 404


def test_bad_membership_body_is_400_with_field_details(world, api):
    response = api.as_user(world.supervisor_a).post(
        "/api/v1/memberships/", {"user_id": "x"}, format="json"
    )
    assert response.status_code == 400
    err = response.json()["error"]
    assert err["code"] == "invalid"
    assert set(err["details"]) == {"user_id", "shop_account_id"}


def test_user_without_organisation_sees_nothing(db, api):
    from tests.factories import UserFactory

    response = api.as_user(UserFactory()).get("/api/v1/shop-accounts/")
    assert response.status_code == 403


def test_list_endpoints_have_bounded_queries(world, api, django_assert_max_num_queries):
    from tests.factories import ShopAccountFactory, ShopMembershipFactory

    for _ in range(20):
        ShopMembershipFactory(
            user=world.agent_a1, shop_account=ShopAccountFactory(organisation=world.org_a)
        )
    sup = api.as_user(world.supervisor_a)
    with django_assert_max_num_queries(4):
        assert len(sup.get("/api/v1/memberships/").json()["results"]) >= 20
    with django_assert_max_num_queries(4):
        assert len(sup.get("/api/v1/shop-accounts/").json()["results"]) >= 20


def test_the_plain_sql_shop_rule_answers_as_the_orm_rule(world):
    """The quick-reply picker's SQL form of the agent shop rule (member_shop_ids_sql) names the
    same shops as shop_account_ids_for, including a membership in another organisation's shop."""
    from django.db import connection

    from inbox.models import ShopMembership
    from inbox.selectors import member_for, member_shop_ids_sql, shop_account_ids_for

    # Given an agent of org A who also holds a (stray) membership of org B's shop
    ShopMembership.objects.create(user=world.agent_a2, shop_account=world.shop_b1)
    for agent in (world.agent_a1, world.agent_a2, world.agent_b):
        sql, params = member_shop_ids_sql(member_for(agent))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            from_sql = {row[0] for row in cursor.fetchall()}
        assert from_sql == set(shop_account_ids_for(agent))
    assert world.shop_b1.pk not in set(shop_account_ids_for(world.agent_a2))
