"""The customer profiles API: list and search, the profile (masked), PATCH, notes,
follow-ups, merge and undo, custom fields; access (another shop, another organisation, a
deactivated user) and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import Customer
from tests.inbox.case_builders import case_needing_decision
from tests.inbox.profile_builders import buyer, order_for

pytestmark = pytest.mark.django_db

PHONE = "+1 415 555 4821"
EMAIL = "alice.wong@example.com"


def _alice(world) -> Customer:
    alice = buyer(world.shop_a1, "Alice Wong", phone=PHONE, email=EMAIL, real_name="Alice Wong")
    order_for(alice, world.shop_a1, order_id="576001")
    order_for(alice, world.shop_a1)
    case_needing_decision(world.shop_a1, customer=alice)
    return alice


def test_search_finds_by_name_prefix_phone_email_and_order_id(world, api):
    alice = _alice(world)
    buyer(world.shop_a1, "Bob Stone")
    client = api.as_user(world.agent_a1)
    for q in ("al", "ali", "Alice W", "4155554821", "+14155554821", EMAIL, "576001"):
        body = client.get("/api/v1/customers/", {"q": q}).json()
        assert [r["id"] for r in body["results"]] == [alice.id], q
    assert len(client.get("/api/v1/customers/").json()["results"]) == 2
    # Another shop's agent and another organisation find nothing
    for outsider in (world.agent_a2, world.supervisor_b):
        body = api.as_user(outsider).get("/api/v1/customers/", {"q": "alice"}).json()
        assert body["results"] == []


def test_profile_is_masked_and_has_figures_and_timeline(world, api):
    alice = _alice(world)
    body = api.as_user(world.agent_a1).get(f"/api/v1/customers/{alice.id}/").json()
    text = str(body)
    assert "4821" in body["phone"] and "415 555" not in text
    assert EMAIL not in text and "Alice Wong" not in body["real_name"]
    assert "1 Market St" not in text
    assert body["display_name"] == "Alice Wong"  # the nickname stays visible
    assert body["addresses"] == ["San Francisco, California"]
    assert body["figures"]["orders"] == 2
    assert body["figures"]["refunds"] == 1
    assert body["figures"]["refund_rate"] == 0.5
    timeline = api.as_user(world.agent_a1).get(f"/api/v1/customers/{alice.id}/timeline/").json()
    kinds = sorted(e["kind"] for e in timeline["results"])
    assert kinds == ["case", "conversation", "order", "order"]


def test_patch_notes_follow_ups(world, api):
    alice = _alice(world)
    client = api.as_user(world.agent_a1)
    r = client.patch(
        f"/api/v1/customers/{alice.id}/",
        {"phone": "+44 20 7946 0018", "tags": ["vip"], "language": "en"},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["tags"] == ["vip"] and "0018" in r.json()["phone"]
    r = client.post(f"/api/v1/customers/{alice.id}/notes/", {"text": "prefers e-mail"})
    assert r.status_code == 201
    note_id = r.json()["id"]
    due = (timezone.now() + timedelta(days=1)).isoformat()
    r = client.post(
        f"/api/v1/customers/{alice.id}/follow-ups/",
        {"promise": "Send the tracking number", "due_at": due},
        format="json",
    )
    assert r.status_code == 201, r.content
    follow_up = r.json()["id"]
    r = client.patch(
        f"/api/v1/customers/{alice.id}/follow-ups/{follow_up}/", {"done": True}, format="json"
    )
    assert r.json()["done_at"] is not None
    body = client.get(f"/api/v1/customers/{alice.id}/").json()
    assert [n["text"] for n in body["notes"]] == ["prefers e-mail"]
    assert client.delete(f"/api/v1/customers/{alice.id}/notes/{note_id}/").status_code == 204


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", {"phone": "not a phone"}),
        ("", {"email": "x@"}),
        ("", {}),
        ("", {"custom_fields": {"nope": 1}}),
        ("notes/", {"text": ""}),
        ("follow-ups/", {"promise": "x", "due_at": "tomorrow"}),
        ("follow-ups/", {"promise": "x", "due_at": "2999-01-01T00:00:00Z"}),
        ("merge/", {"merged_id": "abc"}),
    ],
)
def test_bad_input_is_a_4xx_with_the_error_envelope(world, api, path, body):
    alice = _alice(world)
    client = api.as_user(world.supervisor_a)
    method = client.patch if path == "" else client.post
    r = method(f"/api/v1/customers/{alice.id}/{path}", body, format="json")
    assert 400 <= r.status_code < 500, (path, r.status_code)
    assert set(r.json()["error"]) == {"code", "message", "details"}
    assert Customer.objects.get(id=alice.id).phone == PHONE


def test_outsiders_and_deactivated_users(world, api):
    alice = _alice(world)
    paths = ("", "timeline/")
    for outsider in (world.agent_a2, world.supervisor_b):
        client = api.as_user(outsider)
        for path in paths:
            assert client.get(f"/api/v1/customers/{alice.id}/{path}").status_code == 404
        r = client.patch(f"/api/v1/customers/{alice.id}/", {"country": "GB"}, format="json")
        assert r.status_code == 404
        assert client.post(f"/api/v1/customers/{alice.id}/notes/", {"text": "x"}).status_code == 404
    world.agent_a1.is_active = False
    world.agent_a1.save(update_fields=["is_active"])
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/v1/customers/{alice.id}/").status_code in (401, 403)


def test_merge_and_undo_through_the_api(world, api):
    alice = _alice(world)
    twin = buyer(world.shop_a2, "Alice W.")
    agent = api.as_user(world.agent_a1)
    r = agent.post(f"/api/v1/customers/{alice.id}/merge/", {"merged_id": twin.id})
    assert r.status_code in (403, 404)
    client = api.as_user(world.supervisor_a)
    r = client.post(f"/api/v1/customers/{alice.id}/merge/", {"merged_id": twin.id})
    assert r.status_code == 201, r.content
    merge = r.json()
    assert merge["moved"]["conversations"] == 1
    assert client.get(f"/api/v1/customers/{alice.id}/").json()["merges"][0]["id"] == merge["id"]
    r = client.post(f"/api/v1/customers/merges/{merge['id']}/undo/")
    assert r.status_code == 200 and r.json()["undone_at"]
    r = client.post(f"/api/v1/customers/merges/{merge['id']}/undo/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "merge_not_undoable"


def test_custom_fields_api(world, api):
    alice = _alice(world)
    client = api.as_user(world.supervisor_a)
    r = client.post(
        "/api/v1/customers/fields/",
        {"key": "vip_level", "label": "VIP level", "kind": "choice", "choices": ["gold"]},
        format="json",
    )
    assert r.status_code == 201, r.content
    field_id = r.json()["id"]
    r = api.as_user(world.agent_a1).post(
        "/api/v1/customers/fields/", {"key": "x", "label": "X", "kind": "text"}, format="json"
    )
    assert r.status_code == 403
    client = api.as_user(world.supervisor_a)
    r = client.patch(
        f"/api/v1/customers/{alice.id}/", {"custom_fields": {"vip_level": "gold"}}, format="json"
    )
    assert r.json()["custom_fields"] == {"vip_level": "gold"}
    r = client.patch(f"/api/v1/customers/fields/{field_id}/", {"label": "VIP"}, format="json")
    assert r.json()["label"] == "VIP", r.content
    assert client.delete(f"/api/v1/customers/fields/{field_id}/").json()["is_active"] is False
    other = api.as_user(world.supervisor_b)
    assert (
        other.patch(
            f"/api/v1/customers/fields/{field_id}/", {"label": "x"}, format="json"
        ).status_code
        == 404
    )


def test_list_endpoints_query_counts(world, api, django_assert_max_num_queries):
    for i in range(12):
        customer = buyer(world.shop_a1, f"Buyer {i}")
        customer.tags.create(organisation=world.org_a, name=f"t{i}")
    client = api.as_user(world.agent_a1)
    client.get("/api/v1/customers/")  # warm the member cache paths
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/customers/").json()
    assert len(body["results"]) == 12
    with django_assert_max_num_queries(8):
        client.get("/api/v1/customers/", {"q": "buyer"})
    with django_assert_max_num_queries(6):
        client.get("/api/v1/customers/fields/")
