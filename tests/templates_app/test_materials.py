"""Shared materials: type and size checks, dedupe by content hash, scope, download."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from monitoring.models import AuditEvent
from templates_app import services
from templates_app.models import Material

BASE = "/api/v1/templates/materials/"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
GIF = b"GIF89a" + b"\x00" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"\x00" * 100


def upload(client, data, name="size-chart.png", **fields):
    return client.post(
        BASE, {"file": SimpleUploadedFile(name, data), "name": name, **fields}, format="multipart"
    )


@pytest.mark.parametrize(
    ("data", "kind", "content_type", "message_type"),
    [
        (PNG, "image", "image/png", "IMAGE"),
        (JPG, "image", "image/jpeg", "IMAGE"),
        (GIF, "image", "image/gif", "IMAGE"),
        (WEBP, "image", "image/webp", "IMAGE"),
        (PDF, "file", "application/pdf", "LINK"),
    ],
)
def test_accepted_types_are_read_from_the_bytes(api, world, data, kind, content_type, message_type):
    response = upload(api.as_user(world.agent_a1), data, name="whatever.bin")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["content_type"], body["message_type"]) == (
        kind,
        content_type,
        message_type,
    )
    assert body["size"] == len(data) and len(body["sha256"]) == 64


@pytest.mark.parametrize(
    "data", [b"MZ\x90\x00 executable", b"<svg onload=alert(1)>", b"plain text", b""]
)
def test_other_types_are_400(api, world, data):
    response = upload(api.as_user(world.agent_a1), data, name="evil.png")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "material_type"
    assert Material.objects.count() == 0


def test_image_over_10_mb_is_413(api, world):
    too_big = PNG + b"\x00" * (10 * 2**20 - len(PNG) + 1)
    response = upload(api.as_user(world.agent_a1), too_big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "material_too_large"
    assert error["details"] == {"kind": "image", "size": 10 * 2**20 + 1, "limit": 10 * 2**20}


def test_pdf_over_10_mb_is_fine_and_limits_are_configurable(api, world):
    client = api.as_user(world.agent_a1)
    assert upload(client, PDF + b"\x00" * (11 * 2**20), name="manual.pdf").status_code == 201
    with override_settings(SCRM_MATERIAL_FILE_MAX_BYTES=1000, SCRM_MATERIAL_IMAGE_MAX_BYTES=50):
        pdf = upload(client, PDF + b"\x01" * 1000, name="manual.pdf")
        assert pdf.status_code == 413
        assert pdf.json()["error"]["details"]["limit"] == 1000
        assert upload(client, PNG).status_code == 413


def test_same_content_is_stored_once(api, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client = api.as_user(world.supervisor_a)
    first = upload(client, PNG, scope="organisation")
    again = upload(client, PNG, name="copy.png", scope="organisation")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["deduplicated"] is True
    # another scope gets its own row but shares the stored blob
    mine = upload(api.as_user(world.agent_a1), PNG)
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    blobs = set(Material.objects.values_list("blob", flat=True))
    assert len(blobs) == 1
    assert len(list(tmp_path.rglob("*.png"))) == 1


def test_links_are_checked(api, world):
    client = api.as_user(world.agent_a1)
    ok = client.post(
        BASE, {"url": "https://youtu.be/assembly", "name": "Assembly video"}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["kind"] == "link"
    assert ok.json()["url"] == "https://youtu.be/assembly"
    bad = client.post(BASE, {"url": "javascript:alert(1)"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "material_type"
    nothing = client.post(BASE, {"name": "x"}, format="json")
    assert nothing.status_code == 400


def test_scope_visibility_and_404s(api, world):
    sup = api.as_user(world.supervisor_a)
    team_a2 = upload(sup, GIF, scope="team", shop_account_ids=str(world.shop_a2.id)).json()
    org = upload(sup, JPG, scope="organisation").json()
    mine_a2 = upload(api.as_user(world.agent_a2), PDF, name="mine.pdf").json()
    other_org = upload(api.as_user(world.agent_b), PNG).json()
    client = api.as_user(world.agent_a1)
    listed = {m["id"] for m in client.get(BASE).json()["results"]}
    assert listed == {org["id"]}
    for hidden in (team_a2, mine_a2, other_org):
        for path in (f"{BASE}{hidden['id']}/", f"{BASE}{hidden['id']}/download/"):
            assert client.get(path).status_code == 404
        assert client.post(f"{BASE}{hidden['id']}/archive/").status_code == 404
    assert {m["id"] for m in api.as_user(world.agent_a2).get(BASE).json()["results"]} == {
        team_a2["id"],
        org["id"],
        mine_a2["id"],
    }


def test_agent_may_not_upload_shared_or_archive_others(api, world):
    assert upload(api.as_user(world.agent_a1), PNG, scope="organisation").status_code == 403
    org = upload(api.as_user(world.supervisor_a), PNG, scope="organisation").json()
    assert api.as_user(world.agent_a1).post(f"{BASE}{org['id']}/archive/").status_code == 403
    assert api.as_user(world.supervisor_a).post(f"{BASE}{org['id']}/archive/").status_code == 200


def test_download_returns_the_bytes(api, world):
    client = api.as_user(world.agent_a1)
    material = upload(client, PNG).json()
    response = client.get(f"{BASE}{material['id']}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"


def test_material_list_query_count(api, world, django_assert_max_num_queries):
    for i in range(20):
        services.material_upload(
            actor=world.supervisor_a,
            name=f"m{i}",
            content=PNG + bytes([i]),
            scope="team",
            shop_account_ids=[world.shop_a1.id],
        )
    client = api.as_user(world.agent_a1)
    with django_assert_max_num_queries(6):
        response = client.get(BASE)
    assert len(response.json()["results"]) == 20


def test_materials_attach_to_replies_and_come_back_from_render(api, world):
    from tests.templates_app.conftest import create_reply, make_conversation

    material, _ = services.material_upload(
        actor=world.agent_a1, name="chart", content=io.BytesIO(PNG)
    )
    reply = create_reply(
        world.agent_a1, scope="personal", body="See the chart", material_ids=[material.id]
    )
    conversation = make_conversation(world.shop_a1)
    response = api.as_user(world.agent_a1).post(
        f"/api/v1/templates/{reply.id}/render/",
        {"conversation_id": conversation.id},
        format="json",
    )
    assert response.json()["attachments"] == [
        {"id": material.id, "kind": "image", "name": "chart", "message_type": "IMAGE"}
    ]
    # another agent's material cannot be attached
    other, _ = services.material_upload(actor=world.agent_a2, name="x", content=GIF)
    refused = api.as_user(world.agent_a1).post(
        "/api/v1/templates/",
        {"title": "t", "shortcut": "t", "body": "x", "material_ids": [other.id]},
        format="json",
    )
    assert refused.status_code == 400


def test_upload_is_audited_without_names(api, world):
    upload(api.as_user(world.agent_a1), PNG, name="secret-name.png")
    event = AuditEvent.objects.get(action="material.uploaded")
    assert event.data["kind"] == "image" and "secret" not in str(event.data)


def test_an_archived_material_can_be_brought_back(api, world):
    client = api.as_user(world.supervisor_a)
    made = client.post(
        BASE,
        {"url": "https://example.com/size", "name": "Sizes", "scope": "organisation"},
        format="json",
    ).json()
    client.post(f"{BASE}{made['id']}/archive/")
    response = client.post(f"{BASE}{made['id']}/unarchive/")
    assert response.status_code == 200 and response.json()["is_archived"] is False
    assert AuditEvent.objects.filter(action="material.unarchived").count() == 1
    # another organisation's supervisor does not find it
    other = api.as_user(world.supervisor_b).post(f"{BASE}{made['id']}/unarchive/")
    assert other.status_code == 404
