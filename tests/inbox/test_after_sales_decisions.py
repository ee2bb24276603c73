"""Deciding after-sales cases through the platform: the REST endpoints, the outbox, the
simulator over real HTTP, the real database (and Redis in services mode)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from celery import current_app
from django.utils import timezone

from inbox.events import CASE_UPDATED
from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    Conversation,
    InboxEvent,
    Message,
    OutboxAction,
    SyncStream,
)
from inbox.services.aftersales_decisions import DECISION_KIND, platform_idempotency_key
from inbox.services.ingestion import stream_backfill
from monitoring.models import AuditEvent
from scrm.events import payload_check

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = "7494000000000777"
CDN = "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us"


def sim_decisions(platform, shop) -> list[dict]:
    """The decisions the simulator recorded for the shop, through its control API."""
    response = httpx.get(
        f"{platform.server.base_url}/_sim/return_decisions",
        params={"shop_id": shop.platform_shop_id},
    )
    response.raise_for_status()
    return response.json()["data"]["decisions"]


def case_events(since: int) -> list[dict]:
    rows = InboxEvent.objects.filter(id__gt=since, type=CASE_UPDATED.name).order_by("id")
    for row in rows:
        payload_check(CASE_UPDATED, row.data)
    return [row.data for row in rows]


def last_event_id() -> int:
    return InboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def later(platform):
    offset = [0.0]
    platform.sim.clock = lambda: time.time() + offset[0]

    def step(seconds: float = 30) -> None:
        offset[0] += seconds

    return step


def refund_case(
    platform, shop, *, chatted: bool = True, listed: bool = True, evidence=(), return_type="REFUND"
):
    """A buyer (who chatted first, unless not) asks for a refund; the webhook stores the case.
    ``listed``: the chat was first read from the conversation list (which names the buyer's
    user_id), else only from its webhook (whose sender has the chat id alone)."""
    sim = platform.sim
    if chatted:
        sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=BUYER, nickname="Mia", text="My mug is broken"
        )
        if listed:  # found through the conversation list, which names the buyer's user_id
            stream_backfill(shop=shop, stream=SyncStream.MESSAGES)
        sim.deliver_webhooks()
    order_id = sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        products=[("Mug", "Blue", "12.50"), ("Saucer", "Blue", "7.50")],
        status="DELIVERED",
    )
    return_id = sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order_id,
        reason_text="It arrived broken",
        return_type=return_type,
    )
    if evidence:
        with sim.lock:
            sim.returns[return_id].records[0]["images"] = list(evidence)
    sim.deliver_webhooks()
    return AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)


def decide(api, user, case, verb="approve", key="", **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.as_user(user).post(
        f"/api/v1/after-sales/{case.id}/{verb}/", body, format="json", **headers
    )


def test_approve_with_a_message_decides_once_and_answers_the_buyer(world, platform, api):
    shop = world.shop_a1
    # Given a refund request with the buyer's photos, from a buyer who chatted with the shop
    case = refund_case(
        platform,
        shop,
        evidence=[
            {"url": f"{CDN}/mug.jpeg", "width": 800, "height": 600},
            {"url": "https://tracker.example.com/pixel.gif", "width": 1, "height": 1},
        ],
    )
    assert case.stage == "needs_decision"
    assert case.conversation_id is not None  # linked on ingestion to the buyer's chat
    assert [e["url"] for e in case.evidence] == [f"{CDN}/mug.jpeg"]  # the tracker is dropped
    detail = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/").json()
    assert [o["name"] for o in detail["options"]] == [
        "APPROVE_REFUND",
        "OFFER_PARTIAL_REFUND",
        "REJECT_REFUND",
    ]
    assert detail["evidence"][0]["thumb_url"] == f"{CDN}/mug.jpeg"
    since = last_event_id()
    # When the agent approves with a message (the worker runs at once here)
    response = decide(
        api,
        world.agent_a1,
        case,
        key="approve-1",
        decision="APPROVE_REFUND",
        message="Refund approved, sorry about the mug!",
    )
    assert response.status_code == 201, response.content
    # Then the simulator recorded exactly one decision, with our platform key
    decision = AfterSalesDecision.objects.get(case=case)
    [recorded] = sim_decisions(platform, shop)
    assert (recorded["id"], recorded["decision"]) == (case.platform_case_id, "APPROVE_REFUND")
    assert recorded["idempotency_key"] == platform_idempotency_key(decision.id)
    # and the buyer got the message, in the case's conversation
    [sent] = platform.sim.sent_messages(shop.platform_shop_id)
    assert sent["content"] == {"content": "Refund approved, sorry about the mug!"}
    reply = Message.objects.get(id=decision.reply_id)
    assert (reply.conversation_id, reply.delivery_state) == (case.conversation_id, "sent")
    # and the case shows the platform's new state, live
    case.refresh_from_db()
    assert (case.platform_status, case.stage) == ("RETURN_OR_REFUND_REQUEST_SUCCESS", "decided")
    states = [e["decision_state"] for e in case_events(since) if e["id"] == case.id]
    assert states[0] == "pending" and states[-1] == "sent"
    assert "sending" in states
    # and it was audited without the buyer's words
    audit = AuditEvent.objects.get(action="after_sales.decision_submitted")
    assert audit.data["decision"] == "APPROVE_REFUND"
    assert "mug" not in str(audit.data).lower()
    action = OutboxAction.objects.get(kind=DECISION_KIND, subject_id=decision.id)
    assert action.params == {"case_id": case.id, "verb": "approve", "decision": "APPROVE_REFUND"}
    # When the client repeats the request with the same key
    again = decide(api, world.agent_a1, case, key="approve-1", decision="APPROVE_REFUND")
    # Then it gets the first decision back, and nothing more happens
    assert (again.status_code, again.json()["id"]) == (200, decision.id)
    assert len(sim_decisions(platform, shop)) == 1
    assert OutboxAction.objects.filter(kind=DECISION_KIND).count() == 1


def test_the_same_key_twice_while_the_first_is_queued_is_one_decision(world, platform, api):
    case = refund_case(platform, world.shop_a1)
    current_app.conf.task_always_eager = False  # the task goes to a broker no worker reads
    try:
        first = decide(api, world.agent_a1, case, key="k-2", decision="APPROVE_REFUND")
        second = decide(api, world.agent_a1, case, key="k-2", decision="APPROVE_REFUND")
        other = decide(api, world.agent_a1, case, key="k-3", decision="APPROVE_REFUND")
    finally:
        current_app.conf.task_always_eager = True
        current_app.control.purge()
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["state"] == "pending"
    # A different key while the first decision is in flight: refused, naming the state
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "case_moved_on"
    assert other.json()["error"]["details"]["state"] == "decision_in_flight"
    assert AfterSalesDecision.objects.filter(case=case).count() == 1


def test_a_case_that_moved_on_is_refused_with_its_state(world, platform, api, later):
    shop = world.shop_a1
    case = refund_case(platform, shop)
    # Given the buyer cancelled the request and we were told
    later()
    platform.sim.buyer_withdraw(case.platform_case_id)
    platform.sim.deliver_webhooks()
    case.refresh_from_db()
    response = decide(api, world.agent_a1, case, decision="APPROVE_REFUND")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["state"] == "cancelled_by_buyer"
    # A case already decided (elsewhere: in Seller Center), and one in arbitration
    decided = refund_case(platform, shop, chatted=False)
    later()
    platform.sim.return_update(
        decided.platform_case_id, "RETURN_OR_REFUND_REQUEST_SUCCESS", role="SELLER"
    )
    platform.sim.deliver_webhooks()
    assert (
        decide(api, world.agent_a1, decided, decision="APPROVE_REFUND").json()["error"]["details"][
            "state"
        ]
        == "decided"
    )
    arbitrated = refund_case(platform, shop, chatted=False)
    AfterSalesCase.objects.filter(id=arbitrated.id).update(arbitration_status="IN_PROGRESS")
    refused = decide(api, world.agent_a1, arbitrated, verb="reject", decision="REJECT_REFUND")
    assert (refused.status_code, refused.json()["error"]["details"]["state"]) == (
        409,
        "in_arbitration",
    )
    # Nothing reached the platform
    assert sim_decisions(platform, shop) == []
    assert not AfterSalesDecision.objects.exists()


@pytest.mark.parametrize(
    ("verb", "body", "field"),
    [
        ("reject", {"decision": "REJECT_REFUND"}, "reject_reason"),
        ("reject", {"decision": "REJECT_REFUND", "reject_reason": " "}, "reject_reason"),
        ("approve", {"decision": "OFFER_PARTIAL_REFUND"}, "partial_refund_amount"),
        (
            "approve",
            {"decision": "OFFER_PARTIAL_REFUND", "partial_refund_amount": "20.01"},
            "partial_refund_amount",
        ),
        (
            "approve",
            {"decision": "OFFER_PARTIAL_REFUND", "partial_refund_amount": "0"},
            "partial_refund_amount",
        ),
        (
            "approve",
            {"decision": "APPROVE_REFUND", "partial_refund_amount": "5"},
            "partial_refund_amount",
        ),
        ("approve", {"decision": "APPROVE_RETURN"}, "decision"),  # a refund-only case
        ("approve", {"decision": "REJECT_REFUND"}, "decision"),  # a reject posted as approve
        ("reject", {"decision": "APPROVE_REFUND"}, "decision"),
        (
            "reject",
            {
                "decision": "REJECT_REFUND",
                "reject_reason": "seller_reject_apply_no_evidence",
                "comment": "x" * 501,
            },
            "comment",
        ),
    ],
)
def test_a_bad_decision_is_a_400_naming_the_field(world, platform, api, verb, body, field):
    case = refund_case(platform, world.shop_a1, chatted=False)
    response = decide(api, world.agent_a1, case, verb=verb, **body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["details"]["field"] == field
    assert field in error["details"]
    assert sim_decisions(platform, world.shop_a1) == []


def test_a_partial_refund_up_to_the_paid_amount_goes_through(world, platform, api):
    case = refund_case(platform, world.shop_a1, chatted=False)
    response = decide(
        api, world.agent_a1, case, decision="OFFER_PARTIAL_REFUND", partial_refund_amount="20.00"
    )
    assert response.status_code == 201, response.content
    [recorded] = sim_decisions(platform, world.shop_a1)
    assert recorded["decision"] == "OFFER_PARTIAL_REFUND"
    case.refresh_from_db()
    assert case.platform_status == "AWAITING_BUYER_RESPONSE"
    assert case.amounts["partial_refund"] == {"currency": "USD", "amount": "20.00"}


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


def test_the_platform_refusing_a_stale_decision_fails_it_visibly_and_refreshes_the_case(
    world, platform, api, later
):
    shop = world.shop_a1
    case = refund_case(platform, shop)
    # Given the buyer cancelled on the platform after our last read (no webhook yet)
    later()
    platform.sim.buyer_withdraw(case.platform_case_id)
    since = last_event_id()
    # When the agent approves on our stale state
    response = decide(api, world.agent_a1, case, decision="APPROVE_REFUND")
    assert response.status_code == 201
    # Then the platform refused it: the decision failed with the platform's reason
    decision = AfterSalesDecision.objects.get(case=case)
    action = OutboxAction.objects.get(kind=DECISION_KIND, subject_id=decision.id)
    assert action.state == "failed"
    assert action.failure_reason
    detail = api.as_user(world.agent_a1).get(f"/api/v1/after-sales/{case.id}/").json()
    assert detail["decisions"][0]["state"] == "failed"
    assert detail["decisions"][0]["failure_reason"] == action.failure_reason
    # and the case was read again: it shows the buyer's cancellation
    case.refresh_from_db()
    assert case.platform_status == "RETURN_OR_REFUND_REQUEST_CANCEL"
    assert case.stage == "closed"
    # and every agent of the shop saw it live
    last = [e for e in case_events(since) if e["id"] == case.id][-1]
    assert (last["decision_state"], last["decision_failure_reason"]) == (
        "failed",
        action.failure_reason,
    )
    assert last["platform_status"] == "RETURN_OR_REFUND_REQUEST_CANCEL"
    assert sim_decisions(platform, shop) == []


def test_a_worker_killed_after_the_platform_decided_does_not_decide_twice(world, platform, api):
    from inbox.tasks import deliver_outbox_action
    from tests.inbox.test_delivery_crash import kill, start_worker, wait_until

    shop = world.shop_a1
    case = refund_case(platform, shop, chatted=False)
    current_app.conf.task_always_eager = False
    try:
        response = decide(api, world.agent_a1, case, key="crash", decision="APPROVE_REFUND")
    finally:
        current_app.conf.task_always_eager = True
        current_app.control.purge()
    action = OutboxAction.objects.get(kind=DECISION_KIND, subject_id=response.json()["id"])
    # Given the platform acts on the decision at once but answers late
    approve_path = f"/return_refund/202309/returns/{case.platform_case_id}/approve"
    platform.sim.set_fault(approve_path, "delay_after", delay=30)
    worker = start_worker(action.id, platform.server.base_url)
    try:
        # When the platform has decided but the worker has not heard back, it dies
        assert wait_until(lambda: len(sim_decisions(platform, shop)) == 1), "never decided"
        kill(worker)
    finally:
        if worker.poll() is None:
            kill(worker)
    platform.sim.clear_faults()
    action.refresh_from_db()
    assert action.state == "sending"
    # While the dead worker's lease holds, nothing is done
    assert deliver_outbox_action.apply(args=[action.id]).get() == "in_flight"
    # Once it ran out, the retry reads the case on the platform and adopts the decision
    action.attempts.update(started_at=timezone.now() - timedelta(hours=1))
    assert deliver_outbox_action.apply(args=[action.id]).get() == "sent"
    assert len(sim_decisions(platform, shop)) == 1
    assert list(action.attempts.order_by("id").values_list("outcome", flat=True)) == [
        "",
        "adopted",
    ]
    case.refresh_from_db()
    assert case.stage == "decided"


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
    # and the buyer is one customer again, known by both ids
    chat.customer.refresh_from_db()
    assert chat.customer.platform_user_id == BUYER
    assert case.customer_id == chat.customer_id
