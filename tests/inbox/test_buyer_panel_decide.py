"""The decision form against the simulator: a decision goes to the platform once, whatever
double submit; a plain (script-less) post goes back to the case; a quick reply the picker put
in the buyer message counts as used when the message is sent, as the composer's replies do."""

from __future__ import annotations

import pytest

from inbox.models import AfterSalesCase, AfterSalesDecision
from templates_app.models import QuickReplyUsage
from tests.factories import QuickReplyFactory

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = "7494000000000077"


@pytest.fixture
def pending_return(world, platform):
    shop = world.shop_a1
    platform.sim.order_create(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000077001"
    )
    return_id = platform.sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000077001",
        return_type="REFUND",
        reason_text="It never arrived.",
    )
    platform.sim.deliver_webhooks()
    return return_id, AfterSalesCase.objects.get(platform_case_id=return_id)


def test_a_double_submit_is_one_decision_at_the_platform(client, world, platform, pending_return):
    return_id, case = pending_return
    client.force_login(world.agent_a1)
    form = {"decision": "APPROVE_REFUND", "idempotency_key": "form-render-1"}
    headers = {"X-Requested-With": "fetch"}
    first = client.post(f"/inbox/cases/{case.id}/decide/", form, headers=headers)
    second = client.post(f"/inbox/cases/{case.id}/decide/", form, headers=headers)
    assert first.status_code == second.status_code == 200
    assert 'data-decision-state="sent"' in first.content.decode()
    assert AfterSalesDecision.objects.filter(case=case).count() == 1
    assert [d["decision"] for d in platform.sim.return_decisions(return_id)] == ["APPROVE_REFUND"]


def test_a_plain_post_goes_back_to_the_case(client, world, platform, pending_return):
    _, case = pending_return
    client.force_login(world.agent_a1)
    response = client.post(
        f"/inbox/cases/{case.id}/decide/", {"decision": "APPROVE_REFUND", "idempotency_key": "p"}
    )
    assert response.status_code == 303
    assert response["Location"] == f"/inbox/cases/{case.id}/"
    assert AfterSalesDecision.objects.filter(case=case).count() == 1


def test_a_platform_that_cannot_open_the_chat_for_the_message_decides_nothing(
    client, world, platform, pending_return
):
    return_id, case = pending_return
    # Given the buyer never chatted and Create Conversation fails for now
    platform.sim.set_fault("/customer_service/202309/conversations", "5xx", count=50)
    client.force_login(world.agent_a1)
    response = client.post(
        f"/inbox/cases/{case.id}/decide/",
        {"decision": "APPROVE_REFUND", "idempotency_key": "m-1", "message_text": "Refunded!"},
        headers={"X-Requested-With": "fetch"},
    )
    # Then the form says so, keeps the message, and nothing was decided
    assert response.status_code == 409
    html = response.content.decode()
    assert "nothing was decided" in html and ">Refunded!</textarea>" in html
    assert not AfterSalesDecision.objects.filter(case=case).exists()
    assert platform.sim.return_decisions(return_id) == []


def test_a_quick_reply_sent_as_the_decisions_message_counts_as_used_once(
    client, world, platform, pending_return
):
    _, case = pending_return
    mine = QuickReplyFactory(organisation=world.org_a, shortcut="refund", body="Refunded!")
    client.force_login(world.agent_a1)
    form = {
        "decision": "APPROVE_REFUND",
        "idempotency_key": "qr-1",
        "message_text": "Refunded!",
        "quick_reply_id": str(mine.id),
        "quick_reply_language": "en",
    }
    headers = {"X-Requested-With": "fetch"}
    # When the agent sends the decision with the message the picker filled, twice (a double
    # submit)
    for _ in range(2):
        assert (
            client.post(f"/inbox/cases/{case.id}/decide/", form, headers=headers).status_code == 200
        )
    # Then the quick reply was used once, in the buyer's conversation the message went to
    decision = AfterSalesDecision.objects.get(case=case)
    mine.refresh_from_db()
    assert mine.usage_count == 1
    usage = QuickReplyUsage.objects.get(quick_reply=mine)
    assert (usage.conversation_id, usage.user_id, usage.language) == (
        decision.reply.conversation_id,
        world.agent_a1.id,
        "en",
    )


@pytest.mark.parametrize("cleared", [True, False], ids=["message-cleared", "other-orgs-reply"])
def test_a_quick_reply_not_sent_or_not_the_agents_is_not_counted(
    client, world, platform, pending_return, cleared
):
    _, case = pending_return
    org = world.org_a if cleared else world.org_b
    reply = QuickReplyFactory(organisation=org, shortcut="refund", body="Refunded!")
    client.force_login(world.agent_a1)
    form = {
        "decision": "APPROVE_REFUND",
        "idempotency_key": "qr-2",
        "message_text": "" if cleared else "Refunded!",
        "quick_reply_id": str(reply.id),
    }
    response = client.post(
        f"/inbox/cases/{case.id}/decide/", form, headers={"X-Requested-With": "fetch"}
    )
    # The decision goes (a stray id never refuses it), and the quick reply is not counted
    assert response.status_code == 200
    assert AfterSalesDecision.objects.filter(case=case).count() == 1
    reply.refresh_from_db()
    assert reply.usage_count == 0 and not QuickReplyUsage.objects.exists()
