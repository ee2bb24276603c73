"""The language choice kept on the person's profile (issue 11): the language menu saves it
(Member.language); every signed-in request is in the person's language, else their
organisation's (Organisation.language); the browser's only counts before sign-in."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from inbox.models import Member
from monitoring.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

QUEUE_ZH = "队列"


def _member(user) -> Member:
    return Member.objects.get(user=user)


def test_switching_language_saves_it_on_the_profile(world):
    # Given agent_a1 signed in, with no language of their own
    browser = Client()
    browser.force_login(world.agent_a1)
    # When they pick Chinese from the language menu of the inbox
    response = browser.post("/i18n/language/", {"language": "zh-hans", "next": "/inbox/?view=mine"})
    # Then they go back where they were, the choice is on their profile, audited
    assert response.status_code == 302 and response["Location"] == "/inbox/?view=mine"
    assert _member(world.agent_a1).language == "zh-hans"
    audit = AuditEvent.objects.get(action="member.language_changed")
    assert audit.actor_id == world.agent_a1.pk and audit.data == {"from": "", "to": "zh-hans"}
    # And the inbox is in Chinese, whatever the browser prefers
    html = browser.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert QUEUE_ZH in html and '<html lang="zh-hans">' in html


def test_the_choice_follows_the_person_to_another_browser(world):
    # Given agent_a1 chose Chinese in one browser
    first = Client()
    first.force_login(world.agent_a1)
    first.post("/i18n/language/", {"language": "zh-hans", "next": "/inbox/"})
    # When they sign in with the form in another browser, one that prefers English
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in = other.post("/login/", {"username": "agent_a1", "password": PASSWORD})
    # Then their language applies from the sign-in on, and the cookie follows it (so the
    # sign-in page after signing out speaks it too)
    assert signed_in.status_code == 302
    assert signed_in.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert QUEUE_ZH in other.get("/inbox/").content.decode()


def test_without_a_choice_the_organisations_language_applies(world):
    # Given an organisation working in Chinese, and an agent who chose nothing
    world.org_a.language = "zh-hans"
    world.org_a.save(update_fields=["language"])
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(world.agent_a1)
    # Then the agent's pages are in Chinese; a person of another organisation's are not
    assert QUEUE_ZH in browser.get("/inbox/").content.decode()
    outsider = Client(HTTP_ACCEPT_LANGUAGE="en")
    outsider.force_login(world.agent_b)
    assert QUEUE_ZH not in outsider.get("/inbox/").content.decode()
    # And the person's own choice wins over the organisation's
    browser.post("/i18n/language/", {"language": "en", "next": "/inbox/"})
    assert QUEUE_ZH not in browser.get("/inbox/").content.decode()


def test_before_sign_in_the_browser_decides_and_nothing_is_saved(world):
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert '<html lang="zh-hans">' in browser.get("/login/").content.decode()
    response = browser.post("/i18n/language/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert '<html lang="en">' in browser.get("/login/").content.decode()
    assert not AuditEvent.objects.filter(action="member.language_changed").exists()


def test_an_unknown_language_changes_nothing(world):
    browser = Client()
    browser.force_login(world.agent_a1)
    response = browser.post("/i18n/language/", {"language": "xx", "next": "/inbox/"})
    assert response.status_code == 302
    assert _member(world.agent_a1).language == ""
    assert browser.get("/i18n/language/").status_code == 405


def test_the_api_answers_a_session_in_the_persons_language(world):
    # The page's own API calls (session) get their sentences in the person's language
    Member.objects.filter(user=world.agent_a1).update(language="zh-hans")
    browser = Client()
    browser.force_login(world.agent_a1)
    response = browser.post(
        "/api/v1/conversations/bulk/",
        {"action": "resolve", "conversation_ids": [999_999]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 404
    assert response["Content-Language"] == "zh-hans"
