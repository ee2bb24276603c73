"""The supervisors' audit log: the page and the API filter, page and export it; agents and
other organisations find nothing; the export is itself audited and carries no personal data."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from monitoring.models import AuditEvent
from monitoring.services.audit import audit_record

pytestmark = pytest.mark.django_db


def _event(world, actor, action, *, shop=None, ago=0, data=None):
    """An event as a service writes it; ``ago`` days back (the clock moved, since rows are
    append-only)."""
    at = timezone.now() - timedelta(days=ago)
    with mock.patch("django.utils.timezone.now", return_value=at):
        return audit_record(
            organisation_id=world.org_a.id,
            actor=actor,
            action=action,
            data=data or {},
            shop_account_id=shop.id if shop else None,
            ip="203.0.113.9",
        )


@pytest.fixture
def log(world):
    return {
        "old": _event(world, world.agent_a1, "reply.submitted", shop=world.shop_a1, ago=10),
        "reply": _event(world, world.agent_a1, "reply.submitted", shop=world.shop_a1),
        "note": _event(world, world.agent_a2, "note.added", shop=world.shop_a2),
        "policy": _event(world, world.supervisor_a, "sla_policy.updated"),
        "other_org": audit_record(
            organisation_id=world.org_b.id, actor=world.agent_b, action="reply.submitted"
        ),
    }


def _ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_api_lists_newest_first_and_filters(api, world, log):
    api.as_user(world.supervisor_a)
    everything = api.get("/api/v1/monitoring/audit/")
    assert everything.status_code == 200
    assert _ids(everything) == [log["policy"].id, log["note"].id, log["reply"].id, log["old"].id]
    by_actor = api.get(f"/api/v1/monitoring/audit/?actor={world.agent_a1.id}")
    assert _ids(by_actor) == [log["reply"].id, log["old"].id]
    by_action = api.get("/api/v1/monitoring/audit/?action=note.added")
    assert _ids(by_action) == [log["note"].id]
    by_shop = api.get(f"/api/v1/monitoring/audit/?shop_account={world.shop_a1.id}")
    assert _ids(by_shop) == [log["reply"].id, log["old"].id]
    since = (timezone.now() - timedelta(days=2)).isoformat()
    recent = api.get("/api/v1/monitoring/audit/", {"since": since, "actor": world.agent_a1.id})
    assert _ids(recent) == [log["reply"].id]
    row = by_action.json()["results"][0]
    assert row["actor_name"] == world.agent_a2.username
    assert row["address_hash"] and "203.0.113.9" not in str(row)


def test_api_pages_by_cursor(api, world, log):
    api.as_user(world.supervisor_a)
    first = api.get("/api/v1/monitoring/audit/?page_size=2").json()
    second = api.get(first["next"]).json()
    assert [r["id"] for r in first["results"] + second["results"]] == [
        log["policy"].id,
        log["note"].id,
        log["reply"].id,
        log["old"].id,
    ]


def test_bad_filters_are_400(api, world, log):
    api.as_user(world.supervisor_a)
    assert api.get("/api/v1/monitoring/audit/?since=yesterday").status_code == 400
    assert api.get("/api/v1/monitoring/audit/?action=DROP TABLE").status_code == 400
    assert api.get("/api/v1/monitoring/audit/?since=2026-02-02&until=2026-01-01").status_code == 400


@pytest.mark.parametrize("who", ["agent_a1", "supervisor_b"])
def test_agents_and_other_organisations_find_nothing(api, client, world, log, who):
    user = getattr(world, who)
    api.as_user(user)
    if who == "supervisor_b":
        assert log["reply"].id not in _ids(api.get("/api/v1/monitoring/audit/"))
        foreign = f"/api/v1/monitoring/audit/?shop_account={world.shop_a1.id}"
        assert api.get(foreign).status_code == 404
        client.force_login(user)
        assert (
            f'data-event="{log["reply"].id}"'
            not in client.get("/monitoring/audit/").content.decode()
        )
        return
    assert api.get("/api/v1/monitoring/audit/").status_code == 404
    assert api.get("/api/v1/monitoring/audit/export/").status_code == 404
    client.force_login(user)
    assert client.get("/monitoring/audit/").status_code == 404
    assert client.get("/monitoring/audit/export.csv").status_code == 404
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_deactivated_supervisor_is_refused(api, client, world, log):
    client.force_login(world.supervisor_a)
    world.supervisor_a.is_active = False
    world.supervisor_a.save()
    assert client.get("/monitoring/audit/").status_code in (302, 404)
    api.as_user(world.supervisor_a)
    assert api.get("/api/v1/monitoring/audit/").status_code in (401, 403, 404)


def test_page_filters_and_pages(client, world, log):
    client.force_login(world.supervisor_a)
    page = client.get("/monitoring/audit/", {"action": "note.added"})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-event="{log["note"].id}"' in html
    assert f'data-event="{log["reply"].id}"' not in html
    for _n in range(55):
        _event(world, world.agent_a1, "conversation.read", shop=world.shop_a1)
    first = client.get("/monitoring/audit/").content.decode()
    assert first.count("data-event=") == 50 and 'id="audit-older"' in first
    oldest_shown = AuditEvent.objects.filter(organisation=world.org_a).order_by("-id")[49].id
    older = client.get("/monitoring/audit/", {"before": oldest_shown}).content.decode()
    assert f'data-event="{log["old"].id}"' in older and older.count("data-event=") == 9
    bad = client.get("/monitoring/audit/", {"since": "not a date"})
    assert bad.status_code == 400 and 'id="audit-error"' in bad.content.decode()


def test_page_shows_times_in_the_viewers_zone(client, world, log):
    member = world.supervisor_a.member
    member.time_zone = "Asia/Shanghai"
    member.save()
    client.force_login(world.supervisor_a)
    html = client.get("/monitoring/audit/", {"action": "note.added"}).content.decode()
    local = timezone.localtime(
        log["note"].created_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    )
    assert local.strftime("%Y-%m-%d %H:%M:%S") in html


def _csv_rows(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_is_filtered_audited_and_formula_safe(client, world, log):
    _event(world, world.agent_a1, "note.added", shop=world.shop_a1, data={"tag": "=1+1"})
    client.force_login(world.supervisor_a)
    response = client.get("/monitoring/audit/export.csv", {"action": "note.added"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    assert [r["action"] for r in rows] == ["note.added", "note.added"]
    assert rows[0]["shop"] == world.shop_a1.name
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_id == world.supervisor_a.id
    assert exported.data["filters"] == {"action": "note.added"}
    assert exported.ip_digest  # the request's address, hashed
    escaped = _csv_rows(client.get("/monitoring/audit/export.csv", {"shop_account": "x"}))
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in escaped for cell in r.values())


def test_csv_holds_no_personal_data(api, client, world):
    from tests.templates_app.conftest import make_conversation

    conversation = make_conversation(world.shop_a1, buyer_name="Zhang Wei Secret")
    api.as_user(world.agent_a1)
    url = f"/api/v1/conversations/{conversation.id}/"
    assert (
        api.post(
            url + "messages/", {"text": "call 13800138000", "idempotency_key": "k1"}, format="json"
        ).status_code
        == 201
    )
    assert (
        api.post(url + "notes/", {"text": "lives at 5 Secret Road"}, format="json").status_code
        == 201
    )
    client.force_login(world.supervisor_a)
    body = b"".join(client.get("/monitoring/audit/export.csv").streaming_content).decode()
    assert "reply.submitted" in body and "note.added" in body
    for personal in ("Zhang Wei", "13800138000", "Secret Road"):
        assert personal not in body


def test_api_export_is_audited(api, world, log):
    api.as_user(world.supervisor_a)
    response = api.get(f"/api/v1/monitoring/audit/export/?actor={world.agent_a1.id}")
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert {r["actor"] for r in rows} == {world.agent_a1.username}
    assert AuditEvent.objects.filter(action="audit.exported", data__via="api").count() == 1


def test_list_query_count_is_flat(api, world, log, django_assert_max_num_queries):
    for _n in range(30):
        _event(world, world.agent_a2, "conversation.read", shop=world.shop_a2)
    api.as_user(world.supervisor_a)
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/monitoring/audit/").status_code == 200
