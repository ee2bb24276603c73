"""``scrm.auth``: the signed-in person and their membership in one read on every request;
sessions of Django's own backend kept signed in; deactivated people still signed out
(issue 18)."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from scrm.auth import BACKEND, LEGACY_BACKEND
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def _reads_of_person(client: Client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content[:200]
    tables = ('"auth_user"', '"inbox_member"')
    return [
        q["sql"]
        for q in captured.captured_queries
        if " FROM " in q["sql"] and q["sql"].split(" FROM ", 1)[1].startswith(tables)
    ]


def test_a_signed_in_request_reads_person_membership_and_organisation_once(world):
    # Given an agent signed in with the password
    browser = Client()
    assert (
        browser.post("/login/", {"username": "agent_a1", "password": PASSWORD}).status_code == 302
    )
    assert browser.session[BACKEND_SESSION_KEY] == BACKEND
    # When they open the queue
    reads = _reads_of_person(browser, "/api/v1/queue/")
    # Then the person, their membership and organisation came in one statement
    assert len(reads) == 1
    assert '"inbox_member"' in reads[0] and '"inbox_organisation"' in reads[0]


def test_the_person_and_membership_are_the_real_ones(world, django_user_model):
    from django.forms.models import model_to_dict

    from inbox.models import Member, Organisation
    from scrm.auth import user_with_member

    user = user_with_member(world.agent_a2.pk)
    # Then every field is the ORM's, of the person, their membership and organisation
    orm = django_user_model.objects.get(pk=world.agent_a2.pk)
    member = Member.objects.get(user=orm)
    assert model_to_dict(user) == model_to_dict(orm)
    assert model_to_dict(user.member) == model_to_dict(member)
    assert model_to_dict(user.member.organisation) == model_to_dict(
        Organisation.objects.get(pk=member.organisation_id)
    )
    assert user.check_password(PASSWORD)
    assert user_with_member(10**9) is None and user_with_member("x") is None


def test_a_session_of_djangos_own_backend_stays_signed_in_and_moves_over(world):
    # Given a session signed in before this backend (it names Django's ModelBackend)
    browser = Client()
    browser.force_login(world.agent_a1, backend=LEGACY_BACKEND)
    assert browser.session[BACKEND_SESSION_KEY] == LEGACY_BACKEND
    # When its next request comes
    response = browser.get("/api/v1/queue/")
    # Then the person is still signed in, and the session names the new backend
    assert response.status_code == 200
    assert browser.session[BACKEND_SESSION_KEY] == BACKEND
    assert browser.get("/inbox/").status_code == 200


def test_a_deactivated_person_is_signed_out_on_their_next_request(world):
    browser = Client()
    browser.force_login(world.agent_a1)
    assert browser.get("/api/v1/queue/").status_code == 200
    world.agent_a1.is_active = False
    world.agent_a1.save(update_fields=["is_active"])
    assert browser.get("/api/v1/queue/").status_code in (401, 403)
    response = browser.get("/inbox/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_changed_password_ends_other_sessions(world):
    browser = Client()
    browser.force_login(world.agent_a1)
    world.agent_a1.set_password("a-new-long-password-1")
    world.agent_a1.save()
    response = browser.get("/inbox/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_person_of_no_organisation_is_refused_not_an_error(world, django_user_model):
    loner = django_user_model.objects.create_user("loner", password=PASSWORD)
    browser = Client()
    browser.force_login(loner)
    assert browser.get("/api/v1/queue/").status_code == 403
