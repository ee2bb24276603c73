"""A buyer's data on request: the export holds everything seeded through the real paths, is
audited, and only admins and supervisors who may reveal in one of the buyer's shops get it."""

from __future__ import annotations

import json

import pytest

from inbox.models import Member, ShopMembership
from monitoring.models import AuditEvent
from tests.inbox import buyer_data_builders as b

pytestmark = pytest.mark.django_db(transaction=True)


def _export(api, user, customer_id):
    return api.as_user(user).get(f"/api/v1/customers/{customer_id}/export/")


def test_the_export_holds_everything_seeded_and_is_audited(world, platform, api, admin):
    # Given a buyer's traffic through webhooks, a reply, an order, a return and a decision
    seeded = b.seed_buyer(world, platform, api)
    # When an admin exports their data
    response = _export(api, admin, seeded.customer.id)
    # Then it is a JSON attachment holding every value seeded, unmasked
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    for value in seeded.values:
        assert value in body, value
    doc = json.loads(body)
    profile = doc["profile"]
    assert (profile["name"], profile["phone"], profile["email"]) == (b.NICKNAME, b.PHONE, b.EMAIL)
    [conversation] = doc["conversations"]
    texts = [(m["direction"], m["text"]) for m in conversation["messages"]]
    assert texts[:3] == [("in", t) for t in b.TEXTS]
    assert ("out", b.REPLY) in texts
    assert [n["text"] for n in conversation["notes"]] == [b.NOTE]
    [order] = doc["orders"]
    assert order["recipient"]["name"] == seeded.order.recipient_name
    [case] = doc["after_sales_cases"]
    assert case["buyer_reason"] == b.RETURN_REASON
    assert [d["comment"] for d in case["decisions"]] == [b.COMMENT]
    assert [v["text"] for v in doc["violations"]] == [b.VIOLATION_TEXT]
    assert {r["tag"] for r in doc["risk_flags"]} == {"off_platform"}
    assert [n["text"] for n in profile["notes"]] == [b.PROFILE_NOTE]
    assert [f["promise"] for f in profile["follow_ups"]] == [b.PROMISE]
    assert {"key": "tier", "label": "tier", "value": b.CUSTOM} in profile["custom_fields"]
    # and the audit events about them (the reply's, the decision's: ids and actions)
    assert doc["audit_events"]
    # And the export itself is audited, with counts and no value
    event = AuditEvent.objects.filter(action="customer.exported").get()
    assert (event.actor_id, event.target_id) == (admin.id, str(seeded.customer.id))
    assert event.data["counts"]["messages"] == len(conversation["messages"])
    stored = json.dumps(event.data)
    assert not any(v in stored for v in seeded.values)


def test_agents_are_refused_and_other_organisations_find_nothing(world, platform, api, admin):
    seeded = b.seed_buyer(world, platform, api)
    cid = seeded.customer.id
    # An agent of the buyer's shop: refused (they see the buyer, their role may not export)
    refused = _export(api, world.agent_a1, cid)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "export_forbidden"
    # An agent of another shop, a supervisor of another organisation: not found, as for an
    # id that exists nowhere
    for outsider in (world.agent_a2, world.supervisor_b):
        response = _export(api, outsider, cid)
        assert response.status_code == 404
        assert b.NICKNAME not in response.content.decode()
    assert _export(api, admin, 999_999_999).status_code == 404
    # A supervisor: refused until they may reveal in one of the buyer's shops
    assert _export(api, world.supervisor_a, cid).status_code == 403
    ShopMembership.objects.create(
        user=world.supervisor_a, shop_account=world.shop_a2, can_reveal=True
    )
    assert _export(api, world.supervisor_a, cid).status_code == 403
    ShopMembership.objects.create(
        user=world.supervisor_a, shop_account=world.shop_a1, can_reveal=True
    )
    response = _export(api, world.supervisor_a, cid)
    assert response.status_code == 200
    assert b.PHONE in response.content.decode()
    # Refusals write no export event; the one export does
    assert AuditEvent.objects.filter(action="customer.exported").count() == 1


def test_the_page_shows_the_export_in_both_languages(world, platform, api, admin, client):
    seeded = b.seed_buyer(world, platform, api)
    client.force_login(admin)
    url = f"/customers/{seeded.customer.id}/data/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert b.NICKNAME in html and b.RETURN_REASON in html and b.PROMISE in html
    assert "Download JSON" in html and 'id="erase-submit"' in html
    Member.objects.filter(user=admin).update(language="zh-hans")
    chinese = client.get(url)
    assert "下载 JSON" in chinese.content.decode()
    # The profile links to it for those who may open it, not for agents
    profile = f"/customers/{seeded.customer.id}/"
    assert 'id="customer-data-link"' in client.get(profile).content.decode()
    # An agent gets the 403 page, an agent of another shop the 404 page
    client.force_login(world.agent_a1)
    assert client.get(url).status_code == 403
    assert 'id="customer-data-link"' not in client.get(profile).content.decode()
    client.force_login(world.agent_a2)
    assert client.get(url).status_code == 404
