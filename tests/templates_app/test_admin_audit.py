"""Quick replies and materials created, changed or deleted in Django admin are audited like
those made through the services (same actions, ``via: admin``), in the admin's transaction."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from monitoring.models import AuditEvent
from templates_app import services
from templates_app.models import Material, QuickReply
from tests.templates_app.conftest import create_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user(
        "operator", password="x", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return user, client


def _form(world, **changes) -> dict:
    form = {
        "organisation": world.org_a.id,
        "created_by": world.supervisor_a.id,
        "scope": "organisation",
        "title": "Holiday hours",
        "shortcut": "holiday",
        "category": "",
        "default_language": "en",
        "body": "We are closed on {{ shop_date }}.",
        "translations": "{}",
        "custom_fields": "[]",
    }
    form.update(changes)
    return form


def _events(action: str):
    return AuditEvent.objects.filter(action=action).order_by("id")


def test_a_reply_made_and_changed_in_the_admin_is_audited(world, operator):
    user, client = operator
    # when an operator adds a quick reply in the admin
    response = client.post("/admin/templates_app/quickreply/add/", _form(world))
    assert response.status_code == 302, re.findall(r"errorlist.*?</li>", response.content.decode())
    reply = QuickReply.objects.get(shortcut="holiday")
    # then it is audited as a creation by that operator, in its organisation
    created = _events("quick_reply.created").get()
    assert (created.organisation_id, created.actor_id, created.target_id) == (
        world.org_a.id,
        user.id,
        str(reply.id),
    )
    assert created.data["via"] == "admin" and "closed on" not in str(created.data)

    # when they change its title
    response = client.post(
        f"/admin/templates_app/quickreply/{reply.id}/change/", _form(world, title="Closed")
    )
    assert response.status_code == 302
    # then the change names the field, never its text
    updated = _events("quick_reply.updated").get()
    assert "title" in updated.data["fields"] and "Closed" not in str(updated.data)

    # when they delete it
    response = client.post(f"/admin/templates_app/quickreply/{reply.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not QuickReply.objects.filter(pk=reply.pk).exists()
    assert _events("quick_reply.deleted").get().target_id == str(reply.id)


def test_deleting_several_in_the_admin_audits_each(world, operator):
    _, client = operator
    replies = [create_reply(world.supervisor_a, shortcut=f"d{i}") for i in range(2)]
    material = services.material_link_create(
        actor=world.supervisor_a, name="Policy", url="https://example.com/p", scope="organisation"
    )
    response = client.post(
        "/admin/templates_app/quickreply/",
        {
            "action": "delete_selected",
            "_selected_action": [r.id for r in replies],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert {e.target_id for e in _events("quick_reply.deleted")} == {str(r.id) for r in replies}
    response = client.post(f"/admin/templates_app/material/{material.id}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Material.objects.exists()
    assert _events("material.deleted").get().data == {
        "id": material.id,
        "scope": "organisation",
        "via": "admin",
    }
