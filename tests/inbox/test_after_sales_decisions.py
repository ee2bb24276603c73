"""Deciding after-sales cases through the platform: the REST endpoints, the outbox, the
simulator over real HTTP, the real database (and Redis in services mode)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    Message,
    OutboxAction,
)
from inbox.services.aftersales_decisions import DECISION_KIND, platform_idempotency_key
from monitoring.models import AuditEvent
from tests.inbox.case_decisions import (
    CDN,
    case_events,
    decide,
    last_event_id,
    later,
    refund_case,
    sim_decisions,
)

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["later"]  # a fixture used by name


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
        videos=[{"url": f"{CDN}/unboxing.mp4", "cover": "http://insecure.example.com/c.jpg"}],
    )
    assert case.stage == "needs_decision"
    assert case.conversation_id is not None  # linked on ingestion to the buyer's chat
    # The buyer's photo and video kept; the tracker dropped, and the video's insecure cover
    assert [(e["kind"], e["url"], e["thumb_url"]) for e in case.evidence] == [
        ("image", f"{CDN}/mug.jpeg", f"{CDN}/mug.jpeg"),
        ("video", f"{CDN}/unboxing.mp4", ""),
    ]
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
    from tests.inbox.test_delivery_crash import kill, start_worker
    from tests.serve import wait_until

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
