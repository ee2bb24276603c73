"""screen_outgoing and the screen preview API: block, mask and flag as a send sees them, the
violation each records (a blocked send's kept although its transaction rolls back), and the
API's access rules and input errors."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from monitoring.models import SendSource, Violation
from monitoring.services.screening import screen_outgoing
from monitoring.services.violations import violations_kept
from monitoring.services.words import category_action_set, word_entry_add
from monitoring.words.cache import cache_clear

URL = "/api/v1/monitoring/screen/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def words(world):
    sup = world.supervisor_a
    for word, action in (("zebracode", "block"), ("lionmark", "mask"), ("tigerline", "flag")):
        word_entry_add(actor=sup, shop_account_id=None, word=word, category="custom", action=action)
    return world


class Boom(Exception):
    pass


def screen(world, text: str, **kwargs):
    return screen_outgoing(
        organisation_id=world.org_a.id,
        shop_account_id=world.shop_a1.id,
        text=text,
        actor=world.agent_a1,
        **kwargs,
    )


@pytest.mark.django_db
def test_block_mask_flag_and_nothing(words):
    blocked = screen(words, "call z-e-b-r-a-c-o-d-e lionmark", record=False)
    assert blocked.blocked and blocked.action == "block" and blocked.reason == "custom"
    assert blocked.text == "call z-e-b-r-a-c-o-d-e lionmark"  # nothing is sent
    assert [(m.start, m.end) for m in blocked.matches] == [(5, 22), (23, 31)]
    masked = screen(words, "say lionmark twice", record=False)
    assert not masked.blocked and masked.text == "say ******** twice"
    flagged = screen(words, "a tigerline here", record=False)
    assert (flagged.action, flagged.text) == ("flag", "a tigerline here")
    clean = screen(words, "Thank you for your order!", record=False)
    assert (clean.action, clean.blocked, clean.matches) == ("", False, ())
    assert not Violation.objects.exists()


@pytest.mark.django_db
def test_a_masked_send_records_its_violation_with_the_actor(words):
    screen(words, "say lionmark", source=SendSource.QUICK_REPLY)
    violation = Violation.objects.get()
    assert (violation.action, violation.category) == ("mask", "custom")
    assert violation.source == "quick_reply"
    assert violation.actor_id == words.agent_a1.id and violation.actor_name
    assert violation.text == "say lionmark"
    assert violation.matches == [
        {"start": 4, "end": 12, "category": "custom", "action": "mask", "word": "lionmark"}
    ]


@pytest.mark.django_db
def test_a_flag_inside_a_send_that_rolls_back_is_not_kept(words):
    with pytest.raises(Boom), transaction.atomic():
        screen(words, "a tigerline")
        raise Boom
    assert not Violation.objects.exists()


def _blocked_send_rolled_back(world) -> None:
    with violations_kept(), pytest.raises(Boom), transaction.atomic():
        result = screen(world, "add zebracode")
        assert result.blocked
        assert not Violation.objects.exists()  # not yet: after the send's transaction
        raise Boom


@pytest.mark.django_db
def test_a_blocked_send_keeps_its_violation_although_it_rolls_back(words):
    _blocked_send_rolled_back(words)
    violation = Violation.objects.get()
    assert (violation.action, violation.shop_account_id) == ("block", words.shop_a1.id)


@pytest.mark.django_db(transaction=True)
def test_a_blocked_send_keeps_its_violation_in_a_real_transaction(world):
    word_entry_add(
        actor=world.supervisor_a, shop_account_id=None, word="zebracode", category="custom",
        action="block",
    )  # fmt: skip
    _blocked_send_rolled_back(world)
    assert Violation.objects.filter(action="block").count() == 1


@pytest.mark.django_db
def test_a_detector_category_turned_off_in_a_shop(words):
    category_action_set(
        actor=words.supervisor_a, shop_account_id=None, category="email", action="block"
    )
    assert screen(words, "write to jo@example.org", record=False).blocked
    category_action_set(
        actor=words.supervisor_a, shop_account_id=words.shop_a1.id, category="email", action="allow"
    )
    assert not screen(words, "write to jo@example.org", record=False).matches


# --- the API -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_agent_of_the_shop_previews_a_text(words, api):
    response = api.as_user(words.agent_a1).post(
        URL, {"text": "say lionmark, ZEBRACODE", "shop_account": words.shop_a1.id}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["action"] == "block" and body["text"] == "say lionmark, ZEBRACODE"
    assert body["matches"] == [
        {"start": 4, "end": 12, "category": "custom", "action": "mask", "word": "lionmark"},
        {"start": 14, "end": 23, "category": "custom", "action": "block", "word": "zebracode"},
    ]
    masked = api.post(URL, {"text": "lionmark", "shop_account": words.shop_a1.id}, format="json")
    assert masked.json()["text"] == "********"
    assert not Violation.objects.exists()  # a preview records nothing


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["agent_a2", "agent_b", "supervisor_b"])
def test_a_shop_out_of_reach_is_not_found(words, api, who):
    response = api.as_user(getattr(words, who)).post(
        URL, {"text": "zebracode", "shop_account": words.shop_a1.id}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_deactivated_person_is_refused(words):
    client = Client()
    client.force_login(words.agent_a1)
    body = {"text": "zebracode", "shop_account": words.shop_a1.id}
    assert client.post(URL, body, content_type="application/json").status_code == 200
    words.agent_a1.is_active = False
    words.agent_a1.save(update_fields=["is_active"])
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code in (401, 403)
    assert "zebracode" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"text": "", "shop_account": "@shop"},
        {"text": "x" * 10_001, "shop_account": "@shop"},
        {"text": "hello\x00", "shop_account": "@shop"},
        {"text": "hello"},
        {"shop_account": "@shop"},
        {"text": "hello", "shop_account": "abc"},
        {"text": "hello", "shop_account": 2**70},
        {"text": ["a"], "shop_account": "@shop"},
        {"text": {"a": 1}, "shop_account": -1},
    ],
)
def test_bad_input_is_a_400(words, api, body):
    body = {k: (words.shop_a1.id if v == "@shop" else v) for k, v in body.items()}
    response = api.as_user(words.agent_a1).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"]
