"""Every kind of agent and supervisor action leaves an audit event, written through the public
pages and API: who, what, which shop, and the client's address as a keyed hash; never the
personal data itself."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from monitoring.models import AuditEvent, SecurityEvent
from monitoring.services.audit import ip_digest
from tests.factories import PASSWORD, QuickReplyFactory
from tests.inbox.case_decisions import decide, refund_case
from tests.inbox.conftest import platform as platform  # the simulator fixture
from tests.monitoring.test_sla_settings_pages import POLICY
from tests.templates_app.conftest import make_conversation

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"
HASH = ip_digest(ADDRESS)


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def browser():
    return Client(REMOTE_ADDR=ADDRESS)


@pytest.fixture
def conversation(world):
    return make_conversation(world.shop_a1, buyer_name="Li Na Private")


def _last(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def _api(api, user):
    api.as_user(user)
    api.defaults["REMOTE_ADDR"] = ADDRESS
    return api


def test_sign_in_sign_out_and_failures(browser, world):
    assert browser.post("/login/", {"username": "agent_a1", "password": "wrong"}).status_code == 200
    failed = _last("signin.failed")
    assert failed.organisation_id == world.org_a.id and failed.ip_digest == HASH
    assert failed.target_id == str(world.agent_a1.id) and "wrong" not in str(failed.data)
    browser.post("/login/", {"username": "nobody-at-all", "password": "x"})
    assert SecurityEvent.objects.filter(kind="signin.unknown_name").exists()
    assert AuditEvent.objects.filter(action="signin.failed").count() == 1
    assert (
        browser.post("/login/", {"username": "agent_a1", "password": PASSWORD}).status_code == 302
    )
    signed_in = _last("signin.succeeded")
    assert signed_in.actor_id == world.agent_a1.id and signed_in.ip_digest == HASH
    browser.post("/logout/")
    signed_out = _last("signout")
    assert signed_out.actor_id == world.agent_a1.id and signed_out.ip_digest == HASH


def test_reply_note_assignment_status(api, world, conversation):
    client = _api(api, world.agent_a1)
    url = f"/api/v1/conversations/{conversation.id}/"
    sent = client.post(
        url + "messages/", {"text": "hi Li Na", "idempotency_key": "c1"}, format="json"
    )
    assert sent.status_code == 201
    client.post(url + "notes/", {"text": "Li Na Private is upset"}, format="json")
    client.patch(url, {"assignee_id": world.agent_a1.id}, format="json")
    client.patch(url, {"status": "resolved"}, format="json")
    for action in (
        "reply.submitted",
        "note.added",
        "conversation.assigned",
        "conversation.status_changed",
    ):
        event = _last(action)
        assert event is not None, action
        assert event.actor_id == world.agent_a1.id, action
        assert event.shop_account_id == world.shop_a1.id, action
        assert event.ip_digest == HASH, action
        assert "Li Na" not in str(event.data), action


def test_quick_reply_use(api, world, conversation):
    reply = QuickReplyFactory(organisation=world.org_a)
    client = _api(api, world.agent_a1)
    used = client.post(
        f"/api/v1/templates/{reply.id}/use/", {"conversation_id": conversation.id}, format="json"
    )
    assert used.status_code in (200, 201)
    event = _last("quick_reply.used")
    assert event.actor_id == world.agent_a1.id and event.ip_digest == HASH


def test_sla_policy_change(browser, world):
    browser.force_login(world.supervisor_a)
    assert browser.post("/sla/policies/", POLICY).status_code == 302
    event = _last("sla_policy.created") or _last("sla_policy.updated")
    assert event.actor_id == world.supervisor_a.id and event.ip_digest == HASH


def test_word_list_change(world):
    from monitoring.services.words import word_entry_add

    word_entry_add(
        actor=world.supervisor_a,
        shop_account_id=world.shop_a1.id,
        word="wechat",
        category="off_platform",
        action="block",
    )
    event = _last("word_list.entry_added")
    assert event.actor_id == world.supervisor_a.id
    assert event.shop_account_id == world.shop_a1.id


@pytest.mark.django_db(transaction=True)
def test_after_sales_decision(api, world, platform):
    case = refund_case(platform, world.shop_a1, chatted=False)
    client = _api(api, world.agent_a1)
    decided = decide(client, world.agent_a1, case, key="a-1", decision="APPROVE_REFUND")
    assert decided.status_code == 201, decided.content
    event = _last("after_sales.decision_submitted")
    assert event.actor_id == world.agent_a1.id
    assert event.shop_account_id == world.shop_a1.id and event.ip_digest == HASH
