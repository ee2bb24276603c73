"""After-sales cases through the REST API beside deciding: reject reasons, the case's
conversation, the keyset-paged list, and access; the simulator over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import (
    Conversation,
    InboxEvent,
    OutboxAction,
)
from inbox.services.aftersales_decisions import DECISION_KIND
from templates_app.models import QuickReplyUsage
from tests.factories import QuickReplyFactory
from tests.inbox.case_decisions import (
    BUYER,
    decide,
    refund_case,
    sim_decisions,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reject_with_a_platform_reason_and_the_reasons_in_the_agents_language(
    world, platform, api
):
    case = refund_case(platform, world.shop_a1, chatted=False)
    reasons = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/reject-reasons/")
    assert reasons.status_code == 200
    names = [r["name"] for r in reasons.json()]
    assert "seller_reject_apply_no_evidence" in names
    # Cached briefly: the platform failing now does not take the list away
    platform.sim.set_fault("/return_refund/202309/reject_reasons", "5xx", count=50)
    again = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/reject-reasons/")
    assert again.json() == reasons.json()
    platform.sim.clear_faults()
    # An agent working in Chinese gets the platform's Chinese wording of the same reasons
    world.agent_a1.member.language = "zh-hans"
    world.agent_a1.member.save(update_fields=["language"])
    zh = api.as_user(world.agent_a1).get(
        f"/api/v1/after-sales/{case.id}/reject-reasons/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert [r["name"] for r in zh.json()] == names
    assert zh.json()[0]["text"] == "买家未提供凭证。"
    response = decide(
        api,
        world.agent_a1,
        case,
        verb="reject",
        decision="REJECT_REFUND",
        reject_reason=names[0],
        comment="No photo of the damage.",
    )
    assert response.status_code == 201, response.content
    [recorded] = sim_decisions(platform, world.shop_a1)
    assert (recorded["action"], recorded["reject_reason"]) == ("reject", names[0])
    case.refresh_from_db()
    assert case.platform_status == "REFUND_OR_RETURN_REQUEST_REJECT"
    action = OutboxAction.objects.get(kind=DECISION_KIND)
    assert "No photo" not in str(action.params)  # the comment never rides in the params


def test_a_buyer_who_never_chatted_gets_a_conversation_opened_for_the_message(world, platform, api):
    shop = world.shop_a1
    case = refund_case(platform, shop, chatted=False)
    assert case.conversation_id is None
    assert case.customer.im_user_id == f"user:{BUYER}"
    response = decide(
        api, world.agent_a1, case, decision="APPROVE_REFUND", message="Refund approved."
    )
    assert response.status_code == 201, response.content
    case.refresh_from_db()
    conversation = Conversation.objects.get(id=case.conversation_id)
    # opened through the platform, and the buyer's chat id learnt from it
    assert conversation.platform_conversation_id in platform.sim.conversations
    buyer = platform.sim.conversations[conversation.platform_conversation_id].buyer
    assert conversation.customer.im_user_id == buyer.im_user_id
    assert conversation.customer.platform_user_id == BUYER
    [sent] = platform.sim.sent_messages(shop.platform_shop_id)
    assert sent["conversation_id"] == conversation.platform_conversation_id


def test_the_case_list_is_keyset_paged_by_deadline_and_filtered(
    world, platform, api, django_assert_max_num_queries
):
    from tests.inbox.case_builders import case_needing_decision

    shop = world.shop_a1
    cases = [case_needing_decision(shop, due_in=timedelta(hours=h)) for h in (30, 5, 12, 1, 48)]
    case_needing_decision(shop, due_in=None)
    case_needing_decision(shop, stage="decided")
    case_needing_decision(world.shop_a2, due_in=timedelta(hours=2))  # not agent_a1's shop
    client = api.as_user(world.agent_a1)
    seen, url = [], "/api/v1/after-sales/?stage=needs_decision&page_size=2"
    while url:
        with django_assert_max_num_queries(8):
            page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    by_deadline = sorted(cases, key=lambda c: c.seller_deadline)
    assert seen[:5] == [c.id for c in by_deadline]
    assert len(seen) == 6  # the one without a deadline comes last; no other shop's
    due = (timezone.now() + timedelta(hours=6)).isoformat()
    soon = client.get("/api/v1/after-sales/", {"due_before": due}).json()["results"]
    assert [r["id"] for r in soon] == [by_deadline[0].id, by_deadline[1].id]
    bad = client.get("/api/v1/after-sales/", {"cursor": "bm90IGEgY3Vyc29y"})
    assert bad.status_code == 400


def test_access_is_as_for_conversations(world, platform, api):
    from django.test import Client

    case = refund_case(platform, world.shop_a1, chatted=False)
    urls = [f"/api/v1/after-sales/{case.id}/", f"/api/v1/after-sales/{case.id}/reject-reasons/"]
    for outsider in (world.agent_a2, world.supervisor_b, world.agent_b):
        for url in urls:
            assert api.as_user(outsider).get(url).status_code == 404
        assert decide(api, outsider, case, decision="APPROVE_REFUND").status_code == 404
        listed = api.as_user(outsider).get("/api/v1/after-sales/").json()["results"]
        assert case.id not in [r["id"] for r in listed]
    # A supervisor of the organisation sees it
    assert api.as_user(world.supervisor_a).get(urls[0]).status_code == 200
    # A deactivated agent is nobody
    session = Client()
    session.force_login(world.agent_a1)
    world.agent_a1.is_active = False
    world.agent_a1.save(update_fields=["is_active"])
    assert session.get(urls[0]).status_code in (401, 403)
    refused = session.post(
        f"/api/v1/after-sales/{case.id}/approve/",
        {"decision": "APPROVE_REFUND"},
        content_type="application/json",
    )
    assert refused.status_code in (401, 403)
    assert sim_decisions(platform, world.shop_a1) == []


def test_a_message_goes_to_the_buyers_chat_even_before_the_list_named_their_user_id(
    world, platform, api
):
    shop = world.shop_a1
    # Given a buyer whose chat came by webhook only (its sender has no user_id)
    case = refund_case(platform, shop, listed=False)
    chat = Conversation.objects.get(shop_account=shop)
    assert case.conversation_id is None
    # When the agent decides with a message
    response = decide(
        api, world.agent_a1, case, decision="APPROVE_REFUND", message="Refund approved."
    )
    assert response.status_code == 201, response.content
    # Then it goes into that chat (the platform answered its id), no second conversation
    case.refresh_from_db()
    assert case.conversation_id == chat.id
    assert Conversation.objects.filter(shop_account=shop).count() == 1
    [sent] = platform.sim.sent_messages(shop.platform_shop_id)
    assert sent["conversation_id"] == chat.platform_conversation_id
    # and the buyer is one customer again, known by both ids, shown live
    chat.customer.refresh_from_db()
    assert chat.customer.platform_user_id == BUYER
    assert case.customer_id == chat.customer_id
    linked = [
        e.data
        for e in InboxEvent.objects.filter(type="case.updated").order_by("id")
        if e.data["id"] == case.id and e.data["conversation_id"] == chat.id
    ]
    assert linked and linked[0]["customer_id"] == chat.customer_id


def test_a_buyers_cancellation_is_approved_through_the_platform(world, platform, api):
    from inbox.services.aftersales import after_sales_case_sync

    shop = world.shop_a1
    order_id = platform.sim.order_create(shop.platform_shop_id, buyer_user_id=BUYER)
    cancel_id = platform.sim.cancellation_request(
        shop.platform_shop_id, order_id=order_id, reason_text="Found it cheaper"
    )
    case = after_sales_case_sync(shop=shop, family="cancellation", case_id=cancel_id)
    detail = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/").json()
    assert [(o["name"], o["verb"]) for o in detail["options"]] == [
        ("APPROVE_CANCELLATION", "approve"),
        ("REJECT_CANCELLATION", "reject"),
    ]
    response = decide(api, world.agent_a1, case, key="c-1", decision="APPROVE_CANCELLATION")
    assert response.status_code == 201, response.content
    [recorded] = sim_decisions(platform, shop)
    assert (recorded["family"], recorded["id"], recorded["action"]) == (
        "cancellation",
        cancel_id,
        "approve",
    )
    case.refresh_from_db()
    assert (case.platform_status, case.stage) == ("CANCELLATION_REQUEST_SUCCESS", "decided")


def test_a_cursor_that_is_not_one_of_ours_is_a_400(world, api):
    import base64
    import json

    client = api.as_user(world.agent_a1)
    for values in (["9999-12-31T23:59:59-23:59", 1], ["x", 1], ["2026-01-01T00:00:00", -1]):
        cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
        response = client.get("/api/v1/after-sales/", {"cursor": cursor})
        assert response.status_code == 400, values
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_message_made_with_a_quick_reply_counts_it_as_used_once(world, platform, api):
    case = refund_case(platform, world.shop_a1)
    reply = QuickReplyFactory(organisation=world.org_a, shortcut="refund", body="Refunded.")
    body = {"decision": "APPROVE_REFUND", "message": "Refunded.", "quick_reply_id": reply.id}
    for _ in range(2):  # a retry with the same key
        response = decide(api, world.agent_a1, case, key="qr-api-1", **body)
        assert response.status_code in (200, 201), response.content
    reply.refresh_from_db()
    assert reply.usage_count == 1
    [usage] = QuickReplyUsage.objects.filter(quick_reply=reply)
    case.refresh_from_db()
    assert usage.conversation_id == case.conversation_id is not None
