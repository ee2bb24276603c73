"""Review regressions of issue 13 (after-sales): each test failed before its fix."""

from __future__ import annotations

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
