"""Replies and after-sales decisions through the sensitive-word monitor, end to end: the REST
API (which the conversation page's composer and the case panel use), the outbox, the TikTok
Shop simulator over real HTTP. Block: refused, nothing stored or sent, the violation kept;
mask: the buyer receives the masked text; flag: sent as written, the violation raised."""

from __future__ import annotations

import pytest
from django.test import Client

from inbox.models import AfterSalesDecision, Conversation, Message, OutboxAction
from monitoring.models import Violation
from monitoring.services.words import word_entry_add
from monitoring.words.cache import cache_clear
from tests.inbox.case_decisions import decide, refund_case, sim_decisions
from tests.inbox.conftest import platform

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["platform"]  # a fixture used by name


@pytest.fixture(autouse=True)
def words(world):
    """Org A's list: "zorblax" blocks, "quuxword" is masked, "flibber" flagged; shop a1's
    override blocks "flibber" too."""
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


def _conversation(platform, shop) -> Conversation:
    conv_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="b-77", nickname="Mia", text="hello?"
    )
    platform.sim.deliver_webhooks()
    return Conversation.objects.get(platform_conversation_id=conv_id)


def _reply(api, user, conversation, text, key):
    return api.as_user(user).post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": text, "idempotency_key": key},
        format="json",
    )


def _sent(platform, shop) -> list[str]:
    return [m["content"]["content"] for m in platform.sim.sent_messages(shop.platform_shop_id)]


def test_a_reply_blocked_masked_or_flagged(world, platform, api):
    shop = world.shop_a1
    conversation = _conversation(platform, shop)
    # When the agent sends a blocked word, hidden with full-width letters and dots
    blocked = _reply(api, world.agent_a1, conversation, "Add me on ｚ.o.r.b.l.a.x", "k1")
    # Then the reply is refused naming the word, nothing stored or sent, the violation kept
    assert blocked.status_code == 422, blocked.content
    error = blocked.json()["error"]
    assert error["code"] == "reply_blocked" and "zorblax" in error["message"]
    [match] = error["details"]["matches"]
    assert (match["start"], match["end"], match["text"]) == (10, 23, "ｚ.o.r.b.l.a.x")
    outbound = Message.objects.filter(conversation=conversation, direction="out")
    assert not outbound.exists() and not OutboxAction.objects.filter(kind="reply").exists()
    [violation] = Violation.objects.all()
    assert (violation.source, violation.action, violation.conversation_id) == (
        "reply",
        "block",
        conversation.id,
    )
    assert violation.text == "Add me on ｚ.o.r.b.l.a.x" and violation.actor_id == world.agent_a1.id
    # When a masked word is sent: the buyer receives it masked, and it is stored masked
    masked = _reply(api, world.agent_a1, conversation, "Your quuxword is ready", "k2")
    assert masked.status_code == 201, masked.content
    assert _sent(platform, shop) == ["Your ******** is ready"]
    assert outbound.get().text == "Your ******** is ready"
    # When a flagged word is sent: as written, with a violation for review
    flagged = _reply(api, world.agent_a1, conversation, "A small flibber gift", "k3")
    assert flagged.status_code == 201
    assert _sent(platform, shop)[-1] == "A small flibber gift"
    assert sorted(Violation.objects.values_list("action", flat=True)) == ["block", "flag", "mask"]
    # A repeat of the flagged request (same key) stores and records nothing more
    assert _reply(api, world.agent_a1, conversation, "A small flibber gift", "k3").status_code
    assert Violation.objects.count() == 3


def test_a_decision_whose_message_is_blocked_is_not_taken(world, platform, api):
    shop = world.shop_a1
    case = refund_case(platform, shop)
    # When the agent approves with a message holding a blocked word
    response = decide(
        api, world.agent_a1, case, key="d1", decision="APPROVE_REFUND", message="zorblax me"
    )
    # Then the whole decision is refused: no decision, nothing to the platform or the buyer
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "reply_blocked"
    assert not AfterSalesDecision.objects.exists()
    assert sim_decisions(platform, shop) == [] and _sent(platform, shop) == []
    [violation] = Violation.objects.all()
    assert (violation.source, violation.action) == ("case_decision", "block")
    assert violation.conversation_id == case.conversation_id
    # The case card's form (the page) is refused alike, the word named on the card
    client = Client()
    client.force_login(world.agent_a1)
    page = client.post(
        f"/inbox/cases/{case.id}/decide/",
        {"decision": "APPROVE_REFUND", "message_text": "zorblax me", "idempotency_key": "p1"},
        headers={"X-Requested-With": "fetch"},
    )
    assert page.status_code == 422 and "zorblax" in page.content.decode()
    assert not AfterSalesDecision.objects.exists() and Violation.objects.count() == 2
    # When the message holds a masked word instead: decided, the buyer gets it masked
    response = decide(
        api, world.agent_a1, case, key="d2", decision="APPROVE_REFUND", message="quuxword ok"
    )
    assert response.status_code == 201, response.content
    assert len(sim_decisions(platform, shop)) == 1
    assert _sent(platform, shop) == ["******** ok"]
    assert Violation.objects.filter(source="case_decision", action="mask").count() == 1


def test_a_reject_comment_is_screened_too(world, platform, api):
    shop = world.shop_a1
    case = refund_case(platform, shop)
    reasons = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/reject-reasons/")
    assert reasons.status_code == 200, reasons.content
    names = [r["name"] for r in reasons.json()]
    # When the agent rejects with a comment (shown to the buyer) holding a blocked word
    response = decide(
        api,
        world.agent_a1,
        case,
        verb="reject",
        key="r1",
        decision="REJECT_REFUND",
        reject_reason=names[0],
        comment="see zorblax",
    )
    # Then nothing is decided, and the violation is kept
    assert response.status_code == 422, response.content
    assert not AfterSalesDecision.objects.exists() and sim_decisions(platform, shop) == []
    assert Violation.objects.filter(source="case_decision", action="block").count() == 1
