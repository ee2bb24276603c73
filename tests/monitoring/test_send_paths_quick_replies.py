"""Quick replies through the sensitive-word monitor when saved (API, page, import): a blocked
body cannot be saved and says which words, its violation kept; a masked one is saved masked; a
flagged one saved as written, with its violation."""

from __future__ import annotations

import pytest
from django.test import Client

from monitoring.models import Violation
from monitoring.services.words import word_entry_add
from monitoring.words.cache import cache_clear
from templates_app.models import QuickReply

pytestmark = pytest.mark.django_db

BASE = "/api/v1/templates/"


@pytest.fixture(autouse=True)
def words(world):
    """Org A's list: "zorblax" blocks, "quuxword" is masked, "flibber" flagged."""
    cache_clear()
    for word, action in (("zorblax", "block"), ("quuxword", "mask"), ("flibber", "flag")):
        word_entry_add(
            actor=world.supervisor_a,
            shop_account_id=None,
            word=word,
            category="custom",
            action=action,
        )
    yield
    cache_clear()


def _create(api, user, body, **fields):
    data = {"title": "T", "shortcut": "t1", "body": body, "scope": "personal", **fields}
    return api.as_user(user).post(BASE, data, format="json")


def test_a_blocked_quick_reply_is_refused_naming_the_words_and_its_violation_kept(api, world):
    # When an agent saves a quick reply with a blocked word, written to evade
    response = _create(api, world.agent_a1, "Hello {{ buyer_name }}, add Z o r b l a x please")
    # Then it is refused with the matches, nothing saved, and the violation is kept
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "reply_blocked"
    assert "zorblax" in error["message"]
    [match] = error["details"]["matches"]
    assert (match["action"], match["word"], match["text"]) == ("block", "zorblax", "Z o r b l a x")
    assert match["language"] == "en"
    assert not QuickReply.objects.exists()
    [violation] = Violation.objects.all()
    assert (violation.source, violation.action, violation.actor_id) == (
        "quick_reply",
        "block",
        world.agent_a1.id,
    )
    assert violation.organisation_id == world.org_a.id and violation.conversation_id is None


def test_masked_words_are_saved_masked_and_flagged_ones_as_written(api, world):
    # When an agent saves one with a masked word and one with a flagged word
    masked = _create(api, world.agent_a1, "Use quuxword at checkout")
    flagged = _create(api, world.agent_a1, "A flibber for you", shortcut="t2")
    # Then both are saved, the first masked, the second unchanged; each raised a violation
    assert masked.status_code == 201 and flagged.status_code == 201
    assert QuickReply.objects.get(shortcut="t1").body == "Use ******** at checkout"
    assert QuickReply.objects.get(shortcut="t2").body == "A flibber for you"
    assert sorted(Violation.objects.values_list("source", "action")) == [
        ("quick_reply", "flag"),
        ("quick_reply", "mask"),
    ]


def test_an_edit_that_leaves_the_body_alone_records_nothing_again(api, world):
    created = _create(api, world.agent_a1, "A flibber for you").json()
    # When only the title changes
    response = api.as_user(world.agent_a1).patch(
        f"{BASE}{created['id']}/", {"title": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Violation.objects.count() == 1
    # When the body changes to a blocked one, the edit is refused and the body kept
    response = api.as_user(world.agent_a1).patch(
        f"{BASE}{created['id']}/", {"body": "zorblax now"}, format="json"
    )
    assert response.status_code == 422
    assert QuickReply.objects.get(id=created["id"]).body == "A flibber for you"
    assert Violation.objects.filter(action="block").count() == 1


def test_the_page_shows_the_blocked_words_beside_the_body(world):
    client = Client()
    client.force_login(world.supervisor_a)
    client.cookies["django_language"] = "zh-hans"
    form = {
        "action": "save",
        "title": "Contact",
        "shortcut": "contact",
        "scope": "organisation",
        "default_language": "en",
        "body__en": "Hi",
        "body__zh_hans": "您好，ZORBLAX",
    }
    response = client.post("/quick-replies/new/", form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "“ZORBLAX”" in page
    assert not QuickReply.objects.exists()
    assert Violation.objects.filter(source="quick_reply", action="block").count() == 1


def test_an_import_with_a_blocked_row_imports_nothing_and_names_the_row(api, world):
    rows = [
        {"title": "A", "shortcut": "a", "body": "fine text", "scope": "organisation"},
        {"title": "B", "shortcut": "b", "body": "zorblax", "scope": "organisation"},
    ]
    response = api.as_user(world.supervisor_a).post(
        f"{BASE}import/", {"templates": rows}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "import_invalid"
    assert error["details"]["rows"]["1"]["code"] == "reply_blocked"
    assert not QuickReply.objects.exists()
    assert Violation.objects.filter(source="quick_reply", action="block").count() == 1
