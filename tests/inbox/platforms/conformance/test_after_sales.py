"""Conformance of what the after-sales work calls: order detail, cancellations, returns, their
reject reasons and records, approve and reject (see the package doc)."""

from __future__ import annotations

from typing import Any

from tiktok_shop_api.generated import models as m

from tests.inbox.platforms.conformance.client import (
    BUYER,
    OTHER_BUYER,
    SHOP_ID,
    World,
    in_domain,
)


# --- orders, cancellations, returns -------------------------------------------------------------
def test_order_detail_gives_the_buyer_for_create_conversation(tts: World) -> None:
    first = tts.sim.order_create(
        SHOP_ID,
        buyer_user_id=BUYER,
        products=[("Linen shirt", "M / White", "24.90"), ("Canvas tote", "Natural", "9.50")],
    )
    second = tts.sim.order_create(SHOP_ID, buyer_user_id=OTHER_BUYER)

    raw = tts.answer(
        "order detail",
        lambda: tts.shop.orders.get_order_detail(ids=[first]),
        m.GetOrderDetailResponse,
    )
    (order,) = raw["data"]["orders"]
    assert (order["id"], order["user_id"], len(order["line_items"])) == (first, BUYER, 2)

    # Several orders: ids comma-joined in one value (a key is never repeated).
    both = tts.answer(
        "order detail of two orders",
        lambda: tts.shop.orders.get_order_detail(ids=[f"{first},{second}"]),
        m.GetOrderDetailResponse,
    )
    assert {o["id"] for o in both["data"]["orders"]} == {first, second}

    # The user_id is what CreateConversation takes.
    tts.answer(
        "create conversation with the order's buyer",
        lambda: tts.shop.customer_service.create_conversation(
            body=m.CreateConversationRequest(buyer_user_id=order["user_id"])
        ),
        m.CreateConversationResponse,
    )


def test_a_repeated_query_key_is_refused_clearly(tts: World) -> None:
    first = tts.sim.order_create(SHOP_ID, buyer_user_id=BUYER)
    second = tts.sim.order_create(SHOP_ID, buyer_user_id=OTHER_BUYER)

    # This client sends a list as ``ids=1&ids=2`` and signs each occurrence.
    refused = tts.refusal(lambda: tts.shop.orders.get_order_detail(ids=[first, second]))

    assert refused.code != 0 and refused.http_status == 400
    assert "ids" in refused.message and "repeated" in refused.message


def test_cancellations_search(tts: World) -> None:
    buyer_order = tts.sim.order_create(SHOP_ID, buyer_user_id=BUYER)
    seller_order = tts.sim.order_create(SHOP_ID, buyer_user_id=OTHER_BUYER)
    pending = tts.sim.cancellation_request(SHOP_ID, order_id=buyer_order)
    done = tts.sim.cancellation_request(
        SHOP_ID, order_id=seller_order, role="SELLER", reason_text="Out of stock"
    )

    raw = tts.answer(
        "search cancellations",
        lambda: tts.shop.return_and_refund.search_cancellations(
            body=m.SearchCancellationsRequest(), page_size="20"
        ),
        m.SearchCancellationsResponse,
    )

    cancellations = raw["data"]["cancellations"]
    assert {c["cancel_id"] for c in cancellations} == {pending, done}
    for n, c in enumerate(cancellations):
        in_domain(
            c["cancel_type"], m.SearchCancellationsRequestCancelTypesItem, f"[{n}].cancel_type"
        )
        in_domain(
            c["cancel_status"], m.SearchCancellationsRequestCancelStatusItem, f"[{n}].cancel_status"
        )

    only_pending = tts.answer(
        "search cancellations by status",
        lambda: tts.shop.return_and_refund.search_cancellations(
            body=m.SearchCancellationsRequest(
                cancel_status=[
                    m.SearchCancellationsRequestCancelStatusItem.CANCELLATION_REQUEST_PENDING
                ]
            ),
            page_size="20",
        ),
        m.SearchCancellationsResponse,
    )
    assert [c["cancel_id"] for c in only_pending["data"]["cancellations"]] == [pending]

    reasons = tts.answer(
        "reject reasons of a cancellation",
        lambda: tts.shop.return_and_refund.get_reject_reasons(return_or_cancel_id=pending),
        m.GetRejectReasonsResponse,
    )
    assert reasons["data"]["reasons"]


def cancellation_of(tts: World, cancel_id: str) -> dict[str, Any]:
    raw = tts.answer(
        "search cancellations by id",
        lambda: tts.shop.return_and_refund.search_cancellations(
            body=m.SearchCancellationsRequest(cancel_ids=[cancel_id]), page_size="10"
        ),
        m.SearchCancellationsResponse,
    )
    (found,) = raw["data"]["cancellations"]
    return found


def test_cancellation_approve_and_reject(tts: World) -> None:
    refunds = tts.shop.return_and_refund
    approved = tts.sim.cancellation_request(
        SHOP_ID, order_id=tts.sim.order_create(SHOP_ID, buyer_user_id=BUYER)
    )
    rejected = tts.sim.cancellation_request(
        SHOP_ID, order_id=tts.sim.order_create(SHOP_ID, buyer_user_id=OTHER_BUYER)
    )

    tts.answer(
        "approve cancellation",
        lambda: refunds.approve_cancellation(
            approved, body=m.ApproveCancellationRequest(), idempotency_key=f"approve-{approved}"
        ),
        m.ApproveCancellationResponse,
    )
    reasons = tts.answer(
        "reject reasons of a cancellation",
        lambda: refunds.get_reject_reasons(return_or_cancel_id=rejected),
        m.GetRejectReasonsResponse,
    )["data"]["reasons"]
    # A reason that is not among them is refused, and the request still waits.
    refused = tts.refusal(
        lambda: refunds.reject_cancellation(
            rejected, body=m.RejectCancellationRequest(reject_reason="seller_reject_made_up")
        )
    )
    assert refused.code != 0
    assert cancellation_of(tts, rejected)["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
    tts.answer(
        "reject cancellation",
        lambda: refunds.reject_cancellation(
            rejected,
            body=m.RejectCancellationRequest(
                reject_reason=reasons[0]["name"], comment="The parcel left the warehouse today."
            ),
        ),
        m.RejectCancellationResponse,
    )

    assert cancellation_of(tts, approved)["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    assert cancellation_of(tts, rejected)["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"


def seed_returns(tts: World) -> dict[str, str]:
    """One return of each type (one of them a quick refund); by type."""
    made = {}
    for n, kind in enumerate(("REFUND", "RETURN_AND_REFUND", "REPLACEMENT", "EXCHANGE")):
        order_id = tts.sim.order_create(SHOP_ID, buyer_user_id=f"74940000000000002{n:02d}")
        made[kind] = tts.sim.return_request(
            SHOP_ID,
            buyer_user_id=f"74940000000000002{n:02d}",
            order_id=order_id,
            return_type=kind,
            quick_refund=kind == "REFUND",
        )
    return made


def test_returns_search(tts: World) -> None:
    made = seed_returns(tts)

    raw = tts.answer(
        "search returns",
        lambda: tts.shop.return_and_refund.search_returns(
            body=m.SearchReturnsRequest(), page_size="20"
        ),
        m.SearchReturnsResponse,
    )

    returns = raw["data"]["return_orders"]
    assert {r["return_id"]: r["return_type"] for r in returns} == {v: k for k, v in made.items()}
    for n, r in enumerate(returns):
        where = f"return_orders[{n}]"
        in_domain(r["return_type"], m.SearchReturnsRequestReturnTypesItem, f"{where}.return_type")
        in_domain(
            r["return_status"], m.SearchReturnsRequestReturnStatusItem, f"{where}.return_status"
        )
        if "arbitration_status" in r:
            in_domain(
                r["arbitration_status"],
                m.SearchReturnsRequestArbitrationStatusItem,
                f"{where}.arbitration_status",
            )
        # "returned as true for replacement requests and is omitted for other return types"
        if r["return_type"] == "REPLACEMENT":
            assert r.get("can_buyer_keep_item") is True, where
        else:
            assert "can_buyer_keep_item" not in r, (
                f"{where}: can_buyer_keep_item on a non-replacement"
            )
        assert r.get("is_quick_refund") is (r["return_type"] == "REFUND"), where

    pending = tts.answer(
        "search returns by status",
        lambda: tts.shop.return_and_refund.search_returns(
            body=m.SearchReturnsRequest(
                return_status=[m.SearchReturnsRequestReturnStatusItem.REPLACEMENT_REQUEST_PENDING]
            ),
            page_size="20",
        ),
        m.SearchReturnsResponse,
    )
    assert [r["return_id"] for r in pending["data"]["return_orders"]] == [made["REPLACEMENT"]]


def return_of(tts: World, return_id: str) -> dict[str, Any]:
    raw = tts.answer(
        "search returns by id",
        lambda: tts.shop.return_and_refund.search_returns(
            body=m.SearchReturnsRequest(return_ids=[return_id]), page_size="10"
        ),
        m.SearchReturnsResponse,
    )
    (found,) = raw["data"]["return_orders"]
    return found


def test_return_approve(tts: World) -> None:
    made = seed_returns(tts)
    decisions = m.ApproveReturnRequestDecision
    for kind, decision in (
        ("REFUND", decisions.APPROVE_REFUND),
        ("RETURN_AND_REFUND", decisions.DIRECT_REFUND),
        ("REPLACEMENT", decisions.APPROVE_REPLACEMENT),
    ):
        tts.answer(
            f"approve {kind} with {decision.value}",
            lambda kind=kind, decision=decision: tts.shop.return_and_refund.approve_return(
                made[kind],
                body=m.ApproveReturnRequest(decision=decision),
                idempotency_key=f"approve-{made[kind]}",
            ),
            m.ApproveReturnResponse,
        )
        status = return_of(tts, made[kind])["return_status"]
        in_domain(status, m.SearchReturnsRequestReturnStatusItem, f"{kind} after {decision.value}")
        assert not status.endswith("_PENDING"), f"{kind} still {status}"


def test_return_reject_with_a_listed_reason(tts: World) -> None:
    made = seed_returns(tts)
    return_id = made["REFUND"]
    reasons = tts.answer(
        "reject reasons of a return",
        lambda: tts.shop.return_and_refund.get_reject_reasons(return_or_cancel_id=return_id),
        m.GetRejectReasonsResponse,
    )["data"]["reasons"]
    assert reasons and all(r["name"] and r["text"] for r in reasons)
    reject = tts.shop.return_and_refund.reject_return

    # A reason that is not among them is refused, and nothing changes.
    refused = tts.refusal(
        lambda: reject(
            return_id,
            body=m.RejectReturnRequest(
                decision=m.RejectReturnRequestDecision.REJECT_REFUND,
                reject_reason="seller_reject_apply_made_up",
            ),
        )
    )
    assert refused.code != 0
    assert return_of(tts, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"

    tts.answer(
        "reject return",
        lambda: reject(
            return_id,
            body=m.RejectReturnRequest(
                decision=m.RejectReturnRequestDecision.REJECT_REFUND,
                reject_reason=reasons[0]["name"],
                comment="The buyer did not provide any photo of the damage.",
            ),
            idempotency_key=f"reject-{return_id}",
        ),
        m.RejectReturnResponse,
    )
    assert return_of(tts, return_id)["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"


def test_partial_refund_offers(tts: World) -> None:
    made = seed_returns(tts)
    refunds = tts.shop.return_and_refund
    # Before the item comes back: an approve decision with the amount offered.
    tts.answer(
        "approve return with OFFER_PARTIAL_REFUND",
        lambda: refunds.approve_return(
            made["REFUND"],
            body=m.ApproveReturnRequest(
                decision=m.ApproveReturnRequestDecision.OFFER_PARTIAL_REFUND,
                partial_refund=m.PartialRefund(currency="USD", amount="5.00"),
            ),
        ),
        m.ApproveReturnResponse,
    )
    # After the returned package is inspected: a reject decision new in 202606.
    shipped = made["RETURN_AND_REFUND"]
    refunds.approve_return(
        shipped, body=m.ApproveReturnRequest(decision=m.ApproveReturnRequestDecision.APPROVE_RETURN)
    )
    tts.sim.return_update(shipped, "BUYER_SHIPPED_ITEM")
    reasons = tts.answer(
        "reject reasons of a returned package",
        lambda: refunds.get_reject_reasons(return_or_cancel_id=shipped),
        m.GetRejectReasonsResponse,
    )["data"]["reasons"]
    tts.answer(
        "reject return with OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG",
        lambda: refunds.reject_return(
            shipped,
            body=m.RejectReturnRequest(
                decision=m.RejectReturnRequestDecision.OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG,
                reject_reason=reasons[0]["name"],
                partial_refund_amount=m.PartialRefundAmount(
                    partial_refund_total="7.50", currency="USD"
                ),
            ),
        ),
        m.RejectReturnResponse,
    )

    for return_id, amount in ((made["REFUND"], "5.00"), (shipped, "7.50")):
        offered = return_of(tts, return_id)
        assert offered["seller_proposed_return_type"] == "PARTIAL_REFUND"
        assert offered["partial_refund"] == {"currency": "USD", "amount": amount}
        in_domain(
            offered["return_status"], m.SearchReturnsRequestReturnStatusItem, "after the offer"
        )


def test_return_records(tts: World) -> None:
    return_id = seed_returns(tts)["REFUND"]
    tts.shop.return_and_refund.approve_return(
        return_id,
        body=m.ApproveReturnRequest(decision=m.ApproveReturnRequestDecision.APPROVE_REFUND),
    )

    raw = tts.answer(
        "return records",
        lambda: tts.shop.return_and_refund.get_return_records(return_id),
        m.GetReturnRecordsResponse,
    )

    assert {"BUYER", "SELLER"} <= {r["role"] for r in raw["data"]["records"]}


def test_an_arbitrated_return_with_the_buyers_photos(tts: World) -> None:
    # Issue 13: evidence on the request's record, a rejection escalated to arbitration.
    order_id = tts.sim.order_create(SHOP_ID, buyer_user_id=BUYER)
    return_id = tts.sim.return_request(
        SHOP_ID,
        buyer_user_id=BUYER,
        order_id=order_id,
        reason_text="Damaged in transit",
        evidence=["damaged-parcel", "damaged-item"],
    )
    reason = tts.shop.return_and_refund.get_reject_reasons(return_or_cancel_id=return_id)
    tts.shop.return_and_refund.reject_return(
        return_id,
        body=m.RejectReturnRequest(
            decision=m.RejectReturnRequestDecision.REJECT_REFUND,
            reject_reason=reason.data.reasons[0].name,
        ),
    )
    tts.sim.return_escalate(return_id)

    found = tts.answer(
        "search returns in arbitration",
        lambda: tts.shop.return_and_refund.search_returns(
            body=m.SearchReturnsRequest(
                arbitration_status=[m.SearchReturnsRequestArbitrationStatusItem.IN_PROGRESS]
            ),
            page_size="10",
        ),
        m.SearchReturnsResponse,
    )["data"]["return_orders"]
    assert [(r["return_id"], r["arbitration_status"]) for r in found] == [
        (return_id, "IN_PROGRESS")
    ]
    assert found[0]["seller_next_action_response"] == []

    records = tts.answer(
        "return records with images",
        lambda: tts.shop.return_and_refund.get_return_records(return_id),
        m.GetReturnRecordsResponse,
    )["data"]["records"]
    assert [image["width"] for image in records[0]["images"]] == [480, 480]
    assert {"BUYER", "SELLER"} <= {r["role"] for r in records}

    # The seller cannot decide while the platform arbitrates.
    refused = tts.refusal(
        lambda: tts.shop.return_and_refund.approve_return(
            return_id,
            body=m.ApproveReturnRequest(decision=m.ApproveReturnRequestDecision.APPROVE_REFUND),
        )
    )
    assert refused.code == 40011
