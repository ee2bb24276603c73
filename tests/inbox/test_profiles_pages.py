"""The customer pages: the list and its search as people type, the profile (masked, forms
posting to services), the custom field definitions (supervisors only)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from inbox.models import Customer, CustomerField, CustomerNote, FollowUp
from tests.inbox.profile_builders import buyer, order_for

pytestmark = pytest.mark.django_db

PHONE = "+1 415 555 4821"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_and_search_as_people_type(world):
    alice = buyer(world.shop_a1, "Alice Wong", phone=PHONE)
    buyer(world.shop_a1, "Bob Stone")
    client = _client(world.agent_a1)
    page = client.get("/customers/").content.decode()
    assert "Alice Wong" in page and "Bob Stone" in page
    assert "415 555" not in page and "4821" in page
    fragment = client.get("/customers/", {"q": "ali"}, HTTP_HX_REQUEST="true").content.decode()
    assert f'data-customer="{alice.id}"' in fragment and "Bob" not in fragment
    assert "<html" not in fragment
    assert "Alice" not in _client(world.agent_a2).get("/customers/", {"q": "ali"}).content.decode()


def test_profile_is_masked_and_its_forms_work(world):
    alice = buyer(world.shop_a1, "Alice Wong", phone=PHONE, real_name="Alice Wong")
    order_for(alice, world.shop_a1)
    client = _client(world.agent_a1)
    page = client.get(f"/customers/{alice.id}/").content.decode()
    assert "415 555" not in page and "1 Market St" not in page
    assert "San Francisco" in page
    url = f"/customers/{alice.id}/"
    r = client.post(url, {"action": "update", "country": "gb", "tags": "vip, repeat"})
    assert r.status_code == 302
    assert Customer.objects.get(id=alice.id).country == "GB"
    assert Customer.objects.get(id=alice.id).phone == PHONE  # an empty phone input keeps it
    client.post(url, {"action": "note_add", "text": "Likes quick answers"})
    assert CustomerNote.objects.get(customer=alice).text == "Likes quick answers"
    client.post(url, {"action": "follow_up_add", "promise": "Call", "due_at": "2026-12-24T09:30"})
    follow_up = FollowUp.objects.get(customer=alice)
    # Read in the viewer's own time zone
    zone = ZoneInfo(world.agent_a1.member.time_zone)
    assert follow_up.due_at.astimezone(zone).isoformat().startswith("2026-12-24T09:30")
    r = client.post(url, {"action": "update", "email": "nope"})
    assert r.status_code == 400 and "valid e-mail" in r.content.decode()
    assert client.post(url, {"action": "merge", "merged_id": "1"}).status_code == 403
    assert _client(world.agent_a2).get(url).status_code == 404
    assert _client(world.supervisor_b).get(url).status_code == 404


def test_supervisors_manage_custom_fields(world):
    assert _client(world.agent_a1).get("/customers/fields/").status_code == 403
    client = _client(world.supervisor_a)
    r = client.post(
        "/customers/fields/",
        {
            "action": "create",
            "label": "VIP level",
            "key": "vip",
            "kind": "choice",
            "choices": "gold, silver",
        },
    )
    assert r.status_code == 302
    field = CustomerField.objects.get(organisation=world.org_a, key="vip")
    assert field.choices == ["gold", "silver"]
    client.post("/customers/fields/", {"action": "archive", "field_id": field.id})
    assert not CustomerField.objects.get(id=field.id).is_active
    r = client.post(
        "/customers/fields/", {"action": "create", "label": "", "key": "x", "kind": "text"}
    )
    assert r.status_code == 400
