"""Review regressions of issue 13 (after-sales): each test failed before its fix."""

from __future__ import annotations

import time

import pytest
from celery import current_app

from inbox.models import AfterSalesCase, OutboxAction
from inbox.platforms.base import PlatformError
from inbox.services.aftersales_decisions import DECISION_KIND
from tests.inbox.case_decisions import BUYER, decide, sim_decisions

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_buyers_withdrawal_is_not_taken_for_our_rejected_cancellation(world, platform, api):
    """Search Cancellations shows a buyer's withdrawal and a seller's reject alike
    (CANCELLATION_REQUEST_CANCEL): the retry must not adopt the withdrawal as our decision."""
    from inbox.services.aftersales import after_sales_case_sync
    from inbox.tasks import deliver_outbox_action

    shop, sim = world.shop_a1, platform.sim
    order_id = sim.order_create(shop.platform_shop_id, buyer_user_id=BUYER)
    cancel_id = sim.cancellation_request(shop.platform_shop_id, order_id=order_id)
    case = after_sales_case_sync(shop=shop, family="cancellation", case_id=cancel_id)
    current_app.conf.task_always_eager = False
    try:
        response = decide(
            api,
            world.agent_a1,
            case,
            "reject",
            key="r-1",
            decision="REJECT_CANCELLATION",
            reject_reason="seller_reject_cancel_already_shipped",
        )
    finally:
        current_app.conf.task_always_eager = True
        current_app.control.purge()
    assert response.status_code == 201, response.content
    action = OutboxAction.objects.get(kind=DECISION_KIND, subject_id=response.json()["id"])
    # Given the first attempt never reached the platform (an outage)
    sim.set_fault(f"/return_refund/202309/cancellations/{cancel_id}/reject", "5xx", count=100)
    with pytest.raises(PlatformError):
        deliver_outbox_action(action.id)  # called directly: the retry re-raises
    sim.clear_faults()
    # and the buyer then withdrew the request on the platform
    sim.buyer_withdraw(cancel_id)
    # When the retry runs
    deliver_outbox_action(action.id)
    # Then no decision was made on the platform, and ours is not shown as sent
    assert sim_decisions(platform, shop) == []
    action.refresh_from_db()
    assert action.state == "failed", list(action.attempts.values_list("outcome", flat=True))
    assert action.failure_reason
    case = AfterSalesCase.objects.get(id=case.id)
    assert case.platform_status == "CANCELLATION_REQUEST_CANCEL"


def _read(shop, return_id):
    from inbox.services.ingestion import shop_api

    (read,) = shop_api(shop).search_returns(return_ids=[return_id]).items
    return read


def test_a_stale_read_of_the_same_second_does_not_move_a_case_back(world, platform):
    """The platform's update_time is in seconds: two changes in one second give two reads
    with the same stamp, and the slower worker's (older) one must not win."""
    from inbox.services.aftersales import after_sales_case_upsert

    shop, sim = world.shop_a1, platform.sim
    now = time.time()
    sim.clock = lambda: now  # every change below happens within one second
    return_id = sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000901"
    )
    # Given a worker that read the case while it was pending
    pending = _read(shop, return_id)
    # and the seller approved it in the same second, which another worker stored
    sim.return_update(return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS", role="SELLER")
    success = _read(shop, return_id)
    assert success.update_time == pending.update_time
    after_sales_case_upsert(shop=shop, case=success)
    # When the slow worker stores what it read
    _, changed = after_sales_case_upsert(shop=shop, case=pending)
    # Then the case stays decided
    assert not changed
    case = AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)
    assert (case.platform_status, case.stage) == ("RETURN_OR_REFUND_REQUEST_SUCCESS", "decided")


def test_an_arbitration_ruling_of_the_same_second_is_stored_and_kept(world, platform):
    """A ruling for the buyer sends a rejected return back to AWAITING_BUYER_SHIP: further on
    in the case's life although earlier in a return's usual order."""
    from inbox.services.aftersales import after_sales_case_upsert

    shop, sim = world.shop_a1, platform.sim
    now = time.time()
    sim.clock = lambda: now
    return_id = sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000000902",
        return_type="RETURN_AND_REFUND",
    )
    sim.return_update(return_id, "REFUND_OR_RETURN_REQUEST_REJECT", role="SELLER")
    rejected = _read(shop, return_id)
    sim.return_escalate(return_id)
    escalated = _read(shop, return_id)
    sim.arbitration_rule(return_id, "SUPPORT_BUYER")
    ruled = _read(shop, return_id)
    assert rejected.update_time == ruled.update_time
    for read in (rejected, escalated, ruled, escalated, rejected):
        after_sales_case_upsert(shop=shop, case=read)
    case = AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)
    assert (case.platform_status, case.arbitration_status) == (
        "AWAITING_BUYER_SHIP",
        "SUPPORT_BUYER",
    )


def test_a_ruling_after_an_arbitration_spelt_otherwise_is_stored(world, platform):
    """Every spelling of an open arbitration (ARBITRATION_OPEN) counts as open in a tie."""
    from dataclasses import replace

    from inbox.services.aftersales import after_sales_case_upsert

    shop, sim = world.shop_a1, platform.sim
    return_id = sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000903"
    )
    read = _read(shop, return_id)
    open_ = replace(
        read, status="REFUND_OR_RETURN_REQUEST_REJECT", arbitration_status="ARBITRATION_IN_PROGRESS"
    )
    ruled = replace(read, status="AWAITING_BUYER_SHIP", arbitration_status="SUPPORT_BUYER")
    after_sales_case_upsert(shop=shop, case=open_)
    after_sales_case_upsert(shop=shop, case=ruled)
    case = AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)
    assert case.platform_status == "AWAITING_BUYER_SHIP"


def test_the_api_answers_409_when_the_platform_cannot_open_the_chat_for_the_message(
    world, platform, api
):
    """The REST twin of the form's case: a 409 saying nothing was decided, never a 5xx."""
    shop, sim = world.shop_a1, platform.sim
    sim.order_create(shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000904")
    return_id = sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000904"
    )
    sim.deliver_webhooks()
    case = AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)
    assert case.conversation_id is None  # the buyer never chatted
    # Given Create Conversation fails for now
    sim.set_fault("/customer_service/202309/conversations", "5xx", count=50)
    response = decide(
        api, world.agent_a1, case, key="m-1", decision="APPROVE_REFUND", message="Refunded!"
    )
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "platform_unavailable"
    assert sim_decisions(platform, shop) == []
