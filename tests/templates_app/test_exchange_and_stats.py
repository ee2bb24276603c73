"""Import/export round trips (CSV and JSON) and usage statistics."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from monitoring.models import AuditEvent
from templates_app import services
from templates_app.models import QuickReply
from tests.templates_app.conftest import create_reply, make_conversation

BASE = "/api/v1/templates/"


@pytest.fixture
def catalogue(world):
    sup = world.supervisor_a
    create_reply(
        sup,
        title='Shipping, "fast"',
        shortcut="ship",
        category="logistics",
        body='Hi {{ buyer_name }},\nyour order {{ order_id | default:"" }} ships today.',
        translations={"zh-hans": "{{ buyer_name }}您好，今天发货。", "ms": "Hai"},
        custom_fields=["eta"],
    )
    create_reply(
        sup,
        title="Team",
        shortcut="team",
        scope="team",
        shop_account_ids=[world.shop_a1.id, world.shop_a2.id],
        body="Shop {{ shop_name }}",
    )
    create_reply(sup, title="Supervisor's own", shortcut="own", scope="personal", body="x")
    create_reply(world.agent_a1, title="Agent's own", shortcut="a", scope="personal", body="y")


def export(client, fmt):
    response = client.get(f"{BASE}export/", {"format": fmt})
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_round_trip(api, world, catalogue, fmt):
    client = api.as_user(world.supervisor_a)
    # given an export of the organisation and team replies (never personal ones)
    first = export(client, fmt)
    assert first["Content-Type"].startswith("text/csv" if fmt == "csv" else "application/json")
    text = first.content.decode()
    assert "Agent's own" not in text and "Supervisor's own" not in text
    # when it is imported back unchanged: nothing changes
    upload = SimpleUploadedFile(f"replies.{fmt}", first.content)
    same = client.post(f"{BASE}import/", {"file": upload}, format="multipart")
    assert same.status_code == 200, same.content
    assert same.json()["created"] == 0 and same.json()["updated"] == 0
    assert same.json()["unchanged"] == 2
    # when the replies are archived and the file imported again: they come back identical
    for q in QuickReply.objects.exclude(scope="personal"):
        services.quick_reply_archive(actor=world.supervisor_a, quick_reply_id=q.id)
    upload = SimpleUploadedFile(f"replies.{fmt}", first.content)
    again = client.post(f"{BASE}import/", {"file": upload}, format="multipart")
    assert again.json()["created"] == 2
    assert export(client, fmt).content == first.content


def test_json_body_import_creates_and_updates(api, world, catalogue):
    client = api.as_user(world.supervisor_a)
    rows = json.loads(export(client, "json").content)["templates"]
    rows[0]["title"] = "Shipping (new wording)"
    rows.append({"shortcut": "new", "title": "New", "body": "Hi", "scope": "organisation"})
    response = client.post(f"{BASE}import/", {"templates": rows}, format="json")
    assert response.json()["created"] == 1 and response.json()["updated"] == 1
    assert QuickReply.objects.get(shortcut="ship", is_archived=False).title == (
        "Shipping (new wording)"
    )
    event = AuditEvent.objects.filter(action="quick_reply.imported").latest("id")
    assert len(event.data["created"]) == 1 and "Hi" not in json.dumps(event.data)


def test_csv_text_import(api, world):
    csv_text = "shortcut,title,body,body:zh-hans\nhi,Hello,Hello {{ buyer_name }},你好\n"
    response = api.as_user(world.supervisor_a).post(
        f"{BASE}import/", {"format": "csv", "data": csv_text}, format="json"
    )
    assert response.status_code == 200, response.content
    reply = QuickReply.objects.get(shortcut="hi")
    assert reply.scope == "personal" and reply.translations == {"zh-hans": "你好"}


def test_invalid_rows_refuse_the_whole_import(api, world):
    rows = [
        {"shortcut": "ok", "title": "OK", "body": "fine", "scope": "organisation"},
        {"shortcut": "bad", "title": "Bad", "body": "{{ nope }}", "scope": "organisation"},
        {
            "shortcut": "t",
            "title": "T",
            "body": "x",
            "scope": "team",
            "shop_account_ids": [world.shop_b1.id],
        },
    ]
    response = api.as_user(world.supervisor_a).post(
        f"{BASE}import/", {"templates": rows}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_invalid"
    assert set(error["details"]["rows"]) == {"1", "2"}
    assert error["details"]["rows"]["1"]["code"] == "template_variables"
    assert not QuickReply.objects.exists()


def test_agents_import_and_export_only_personal(api, world, catalogue):
    client = api.as_user(world.agent_a1)
    rows = json.loads(export(client, "json").content)["templates"]
    assert [r["title"] for r in rows] == ["Agent's own"]
    response = client.post(
        f"{BASE}import/",
        {"templates": [{"shortcut": "o", "title": "O", "body": "x", "scope": "organisation"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["rows"]["0"]["code"] == "permission_denied"


def test_import_garbage_is_400(api, world):
    client = api.as_user(world.supervisor_a)
    upload = SimpleUploadedFile("x.json", b"{not json")
    response = client.post(f"{BASE}import/", {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "import_invalid"
    response = client.post(f"{BASE}import/", {"format": "csv", "data": "a,b\n1,2"}, format="json")
    assert response.status_code == 400
    assert client.get(f"{BASE}export/", {"format": "xml"}).status_code == 400


def test_other_organisation_export_is_empty(api, world, catalogue):
    rows = json.loads(export(api.as_user(world.supervisor_b), "json").content)["templates"]
    assert rows == []


def test_export_query_count(api, world, catalogue, django_assert_max_num_queries):
    for i in range(20):
        create_reply(world.supervisor_a, title=f"T{i}")
    with django_assert_max_num_queries(6):
        export(api.as_user(world.supervisor_a), "csv")


# --- stats -----------------------------------------------------------------------------------


def test_stats_count_per_template_and_agent(api, world, replies):
    conversation_a1 = make_conversation(world.shop_a1)
    conversation_a2 = make_conversation(world.shop_a2)
    for _ in range(3):
        services.quick_reply_use(
            actor=world.agent_a1,
            quick_reply_id=replies["org"].id,
            conversation_id=conversation_a1.id,
        )
    services.quick_reply_use(
        actor=world.agent_a2,
        quick_reply_id=replies["team_a2"].id,
        conversation_id=conversation_a2.id,
    )
    services.quick_reply_use(
        actor=world.agent_b,
        quick_reply_id=replies["org_b"].id,
        conversation_id=make_conversation(world.shop_b1).id,
    )
    response = api.as_user(world.supervisor_a).get(f"{BASE}stats/")
    assert response.status_code == 200
    stats = response.json()
    assert stats["total"] == 4
    assert [(t["shortcut"], t["uses"]) for t in stats["templates"]] == [("org", 3), ("ta2", 1)]
    assert [(a["username"], a["uses"]) for a in stats["agents"]] == [
        ("agent_a1", 3),
        ("agent_a2", 1),
    ]
    assert api.as_user(world.supervisor_b).get(f"{BASE}stats/").json()["total"] == 1


def test_stats_are_for_supervisors(api, world):
    response = api.as_user(world.agent_a1).get(f"{BASE}stats/")
    assert response.status_code == 403


def test_stats_query_count(api, world, replies, django_assert_max_num_queries):
    conversation = make_conversation(world.shop_a1)
    for key in ("org", "team_a1", "mine_a1"):
        services.quick_reply_use(
            actor=world.agent_a1, quick_reply_id=replies[key].id, conversation_id=conversation.id
        )
    with django_assert_max_num_queries(5):
        api.as_user(world.supervisor_a).get(f"{BASE}stats/", {"days": 7})


def test_use_of_another_shops_conversation_is_404(api, world, replies):
    foreign = make_conversation(world.shop_a2)
    response = api.as_user(world.agent_a1).post(
        f"{BASE}{replies['org'].id}/use/", {"conversation_id": foreign.id}, format="json"
    )
    assert response.status_code == 404


def test_unauthenticated_is_refused(api, world):
    for path in ("", "export/", "stats/", "materials/", "1/"):
        assert api.get(f"{BASE}{path}").status_code in (401, 403)
