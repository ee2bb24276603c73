"""The quick-reply library's pages (/quick-replies/): what supervisors, agents and outsiders can
see and do there, through plain forms, in both languages."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from inbox.models import Member
from monitoring.models import AuditEvent
from templates_app import services
from templates_app.models import Material, QuickReply
from tests.templates_app.conftest import create_reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _client(user, lang="en") -> Client:
    # A signed-in page speaks the person's own language (and the cookie, before sign-in)
    Member.objects.filter(user=user).update(language=lang)
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


def _reply_form(**fields) -> dict:
    form = {
        "action": "save",
        "title": "Shipping time",
        "shortcut": "/ship",
        "category": "Shipping",
        "scope": "organisation",
        "default_language": "en",
        "body__en": "Hi {{ buyer_name }}, order {{ order_id }} ships by {{ ship_day }}.",
        "body__zh_hans": "{{ buyer_name }}您好，订单 {{ order_id }} 将于 {{ ship_day }} 发货。",
        "custom_fields": "ship_day",
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def test_a_supervisor_creates_a_reply_in_both_languages_and_sees_it_listed(world):
    client = _client(world.supervisor_a)
    # when the supervisor fills in the new-reply form
    response = client.post("/quick-replies/new/", _reply_form())
    # then it is created, with both versions, audited, and listed with its languages
    assert response.status_code == 302 and response["Location"] == "/quick-replies/"
    reply = QuickReply.objects.get(shortcut="ship")
    assert reply.scope == "organisation" and reply.default_language == "en"
    assert reply.translations == {"zh-hans": _reply_form()["body__zh_hans"]}
    assert reply.custom_fields == ["ship_day"]
    assert AuditEvent.objects.filter(action="quick_reply.created", target_id=str(reply.id))
    page = client.get("/quick-replies/").content.decode()
    assert "Shipping time" in page and "/ship" in page
    assert "English, 简体中文" in page
    assert "Quick reply /ship created." in page


def test_the_pages_speak_chinese(world, replies):
    client = _client(world.supervisor_a, "zh-hans")
    page = client.get("/quick-replies/").content.decode()
    assert "新建快捷回复" in page and "快捷回复" in page
    form = client.get("/quick-replies/new/").content.decode()
    assert "各语言的文本" in form
    # a refusal is explained in Chinese
    bad = client.post("/quick-replies/new/", _reply_form(body__en="Hi {{ nickname }}"))
    assert bad.status_code == 400
    assert "未知变量：nickname" in bad.content.decode()


def test_refusals_are_shown_beside_their_fields_and_nothing_is_stored(world):
    client = _client(world.supervisor_a)
    cases = {
        "unknown variable": (_reply_form(body__en="Hi {{ nickname }}"), "Unknown variables"),
        "malformed": (_reply_form(body__en="Hi {{ buyer_name"), "malformed"),
        "no default text": (_reply_form(body__en=""), "The default language needs a text."),
        "bad shortcut": (_reply_form(shortcut="no spaces"), "Letters, digits"),
        "team without shops": (_reply_form(scope="team"), "needs at least one shop"),
    }
    for name, (form, expected) in cases.items():
        response = client.post("/quick-replies/new/", form)
        assert response.status_code == 400, name
        assert expected in response.content.decode(), name
    assert not QuickReply.objects.exists()


def test_an_agent_makes_personal_replies_only(world):
    client = _client(world.agent_a1)
    form = client.get("/quick-replies/new/").content.decode()
    assert 'name="scope" value="personal"' in form and 'value="organisation"' not in form
    # a forged organisation scope is refused by the form
    assert client.post("/quick-replies/new/", _reply_form()).status_code == 400
    assert not QuickReply.objects.exists()
    # a personal one is theirs
    assert client.post("/quick-replies/new/", _reply_form(scope="personal")).status_code == 302
    reply = QuickReply.objects.get()
    assert (reply.scope, reply.owner_id) == ("personal", world.agent_a1.id)


def test_an_agent_reads_shared_replies_and_cannot_change_them(world, replies):
    client = _client(world.agent_a1)
    org = replies["org"]
    page = client.get(f"/quick-replies/{org.id}/")
    assert page.status_code == 200
    assert 'id="quick-reply-form"' not in page.content.decode()
    for action in ("save", "archive"):
        response = client.post(f"/quick-replies/{org.id}/", _reply_form(action=action))
        assert response.status_code == 403, action
    assert QuickReply.objects.get(pk=org.pk).title == "Org wide"
    assert not QuickReply.objects.get(pk=org.pk).is_archived
    # their own personal reply has the form
    mine = client.get(f"/quick-replies/{replies['mine_a1'].id}/").content.decode()
    assert 'id="quick-reply-form"' in mine


@pytest.mark.parametrize("who", ["agent_a2", "supervisor_b", "agent_b"])
def test_outsiders_get_404_for_replies_and_materials_they_may_not_see(world, replies, who):
    material = services.material_link_create(
        actor=world.agent_a1, name="mine", url="https://example.com/x"
    )
    client = _client(getattr(world, who))
    for path in (
        f"/quick-replies/{replies['team_a1'].id}/",
        f"/quick-replies/{replies['mine_a1'].id}/",
        f"/quick-replies/materials/{material.id}/",
    ):
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"action": "archive"}).status_code == 404, path
    listed = client.get("/quick-replies/?status=all").content.decode()
    assert "Team A1" not in listed and "Mine A1" not in listed
    assert not QuickReply.objects.get(pk=replies["team_a1"].pk).is_archived


def test_a_deactivated_person_is_sent_to_sign_in(world, replies):
    client = _client(world.supervisor_a)
    world.supervisor_a.is_active = False
    world.supervisor_a.save()
    for path in (
        "/quick-replies/",
        f"/quick-replies/{replies['org'].id}/",
        "/quick-replies/usage/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"], path


def test_edit_saves_the_change_and_keeps_other_language_versions(world):
    reply = create_reply(
        world.supervisor_a, body="Hello", translations={"ms": "Helo", "zh-hans": "你好"}
    )
    client = _client(world.supervisor_a)
    page = client.get(f"/quick-replies/{reply.id}/").content.decode()
    assert "你好" in page and "ms" in page
    response = client.post(
        f"/quick-replies/{reply.id}/",
        _reply_form(
            title="Greeting",
            shortcut=reply.shortcut,
            category="",
            body__en="Hello {{ buyer_name }}",
            body__zh_hans="",
            custom_fields="",
        ),
    )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.body == "Hello {{ buyer_name }}" and reply.translations == {"ms": "Helo"}
    assert AuditEvent.objects.filter(action="quick_reply.updated", target_id=str(reply.id))


def test_archive_and_unarchive_from_the_list(world, replies):
    client = _client(world.supervisor_a)
    org = replies["org"]
    # archive it from its row, back to the list it was pressed in
    response = client.post(
        f"/quick-replies/{org.id}/", {"action": "archive", "next": "/quick-replies/?q=org"}
    )
    assert response.status_code == 302 and response["Location"] == "/quick-replies/?q=org"
    assert QuickReply.objects.get(pk=org.pk).is_archived
    active = client.get("/quick-replies/").content.decode()
    archived = client.get("/quick-replies/?status=archived").content.decode()
    assert "Org wide" not in active and "Org wide" in archived
    # a "next" that leaves the library goes to the list instead
    response = client.post(
        f"/quick-replies/{org.id}/", {"action": "unarchive", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/quick-replies/"
    assert not QuickReply.objects.get(pk=org.pk).is_archived
    actions = list(
        AuditEvent.objects.filter(target_id=str(org.id))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["quick_reply.archived", "quick_reply.unarchived"]


def test_list_filters(world, replies):
    create_reply(world.supervisor_a, title="Refund steps", category="After-sales", body="Refund")
    create_reply(world.supervisor_a, title="Chinese only", default_language="zh-hans", body="您好")
    client = _client(world.supervisor_a)

    def titles(query: str) -> set[str]:
        page = client.get("/quick-replies/?" + query).content.decode()
        return {t for t in ("Org wide", "Team A1", "Refund steps", "Chinese only") if t in page}

    assert titles("q=refund") == {"Refund steps"}
    assert titles("category=After-sales") == {"Refund steps"}
    assert titles("scope=team") == {"Team A1"}
    assert titles("language=zh-hans") == {"Chinese only"}
    assert "Refund steps" in titles("language=en")


def test_the_list_pages_and_its_queries_do_not_grow(world, django_assert_max_num_queries):
    for i in range(60):
        create_reply(world.supervisor_a, title=f"Reply {i:02d}", shortcut=f"r{i}")
    client = _client(world.supervisor_a)
    client.get("/quick-replies/")  # the library is read into memory once
    with django_assert_max_num_queries(8):
        first = client.get("/quick-replies/").content.decode()
    assert first.count('<tr data-id="') == 50
    link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get("/quick-replies/" + link).content.decode()
    assert second.count('<tr data-id="') == 10
    # a cursor that is not one starts again at the first page
    assert client.get("/quick-replies/?cursor=junk").status_code == 200


def test_import_a_file_and_export_it(world):
    client = _client(world.supervisor_a)
    csv_text = (
        "shortcut,title,category,scope,body,body:zh-hans\n"
        "hi,Greeting,General,organisation,Hello {{ buyer_name }},{{ buyer_name }}您好\n"
        "bye,Goodbye,General,organisation,Bye!,再见！\n"
    )
    upload = SimpleUploadedFile("replies.csv", csv_text.encode(), content_type="text/csv")
    response = client.post("/quick-replies/import-export/", {"file": upload})
    assert response.status_code == 200
    assert "Imported: 2 new, 0 changed, 0 unchanged." in response.content.decode()
    assert QuickReply.objects.get(shortcut="hi").translations == {"zh-hans": "{{ buyer_name }}您好"}
    assert AuditEvent.objects.filter(action="quick_reply.imported").count() == 1
    # the export links give the same replies back
    exported = client.get("/api/v1/templates/export/?format=json")
    assert {row["shortcut"] for row in json.loads(exported.content)["templates"]} == {"hi", "bye"}


def test_a_bad_import_names_the_rows_and_imports_nothing(world):
    client = _client(world.supervisor_a)
    bad = "shortcut,title,body\nok,Fine,Hello\n,No shortcut,Hi {{ nickname }}\n"
    upload = SimpleUploadedFile("bad.csv", bad.encode(), content_type="text/csv")
    response = client.post("/quick-replies/import-export/", {"file": upload})
    assert response.status_code == 400
    text = response.content.decode()
    assert "nothing was imported" in text and "Row 2" in text
    junk = SimpleUploadedFile("junk.json", b"{not json", content_type="application/json")
    response = client.post("/quick-replies/import-export/", {"file": junk})
    assert response.status_code == 400 and "could not be read" in response.content.decode()
    assert not QuickReply.objects.exists()


def test_materials_upload_link_archive(world):
    client = _client(world.supervisor_a)
    image = SimpleUploadedFile("size.png", PNG, content_type="image/png")
    response = client.post(
        "/quick-replies/materials/",
        {"action": "upload", "file": image, "name": "Size chart", "scope": "organisation"},
    )
    assert response.status_code == 302
    link = client.post(
        "/quick-replies/materials/",
        {
            "action": "link",
            "url": "https://example.com/returns",
            "name": "Return policy",
            "scope": "organisation",
        },
    )
    assert link.status_code == 302
    chart = Material.objects.get(name="Size chart")
    assert chart.kind == "image" and chart.scope == "organisation"
    page = client.get("/quick-replies/materials/").content.decode()
    assert "Size chart" in page and "Return policy" in page
    # a file that is not an image or PDF is refused, with the reason
    text = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    refused = client.post(
        "/quick-replies/materials/", {"action": "upload", "file": text, "scope": "organisation"}
    )
    assert refused.status_code == 400 and "Only JPEG" in refused.content.decode()
    # archive and bring back
    client.post(f"/quick-replies/materials/{chart.id}/", {"action": "archive"})
    assert Material.objects.get(pk=chart.pk).is_archived
    client.post(f"/quick-replies/materials/{chart.id}/", {"action": "unarchive"})
    assert not Material.objects.get(pk=chart.pk).is_archived
    detail = client.get(f"/quick-replies/materials/{chart.id}/").content.decode()
    assert "image/png" in detail


def test_an_agent_adds_personal_materials_and_cannot_archive_shared_ones(world):
    shared = services.material_link_create(
        actor=world.supervisor_a, name="Shared", url="https://example.com/s", scope="organisation"
    )
    client = _client(world.agent_a1)
    response = client.post(
        "/quick-replies/materials/",
        {"action": "link", "url": "https://example.com/mine", "scope": "organisation"},
    )
    assert response.status_code == 400  # not a scope they may choose
    response = client.post(
        "/quick-replies/materials/",
        {"action": "link", "url": "https://example.com/mine", "scope": "personal"},
    )
    assert response.status_code == 302
    assert Material.objects.get(url="https://example.com/mine").owner_id == world.agent_a1.id
    assert (
        client.post(f"/quick-replies/materials/{shared.id}/", {"action": "archive"}).status_code
        == 403
    )
    assert not Material.objects.get(pk=shared.pk).is_archived


def test_usage_is_for_supervisors(world, replies):
    from tests.templates_app.conftest import make_conversation

    services.quick_reply_use(
        actor=world.agent_a1,
        quick_reply_id=replies["org"].id,
        conversation_id=make_conversation(world.shop_a1).id,
    )
    page = _client(world.supervisor_a).get("/quick-replies/usage/?days=7")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/org" in text and world.agent_a1.member.name in text
    assert _client(world.agent_a1).get("/quick-replies/usage/").status_code == 403


def test_the_inbox_navigation_links_the_library(world):
    page = _client(world.agent_a1).get("/quick-replies/").content.decode()
    assert 'href="/quick-replies/" aria-current="page"' in page
    assert 'href="/quick-replies/usage/"' not in page  # agents have no usage tab
    assert (
        'href="/quick-replies/usage/"'
        in _client(world.supervisor_a).get("/quick-replies/").content.decode()
    )


def test_an_import_file_over_the_size_limit_is_refused_unread(world, monkeypatch, api):
    monkeypatch.setattr("templates_app.exchange.MAX_FILE_BYTES", 20)
    rows = "shortcut,title,body\nhi,Hi,Hello there\n"
    page = _client(world.supervisor_a).post(
        "/quick-replies/import-export/",
        {"file": SimpleUploadedFile("big.csv", rows.encode(), content_type="text/csv")},
    )
    assert page.status_code == 400 and "over 20 bytes" in page.content.decode()
    assert "could not be read" in page.content.decode()
    response = api.as_user(world.supervisor_a).post(
        "/api/v1/templates/import/",
        {"file": SimpleUploadedFile("big.csv", rows.encode(), content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "import_invalid"
    assert not QuickReply.objects.exists()
