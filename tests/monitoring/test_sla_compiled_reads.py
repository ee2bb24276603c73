"""The SLA tracker's and the response figures' reads of an answered wait are compiled once
(``scrm.compiled``): every delivered reply that answers a buyer reads them. Each answers as its
ORM form would, for each call's own conversation and time, not the first call's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.models import Direction, Message
from monitoring.metrics import facts
from monitoring.models.metrics import ResponseFact
from monitoring.models.sla import Deadline
from monitoring.sla import lifecycle
from monitoring.sla.deadlines import SubjectRef
from tests.monitoring.sla_builders import case_store, platform_case, store

pytestmark = pytest.mark.django_db

TUE_10 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _orm_open(conversation_id: int) -> list[Deadline]:
    return list(
        Deadline.objects.filter(conversation_id=conversation_id, state="open").order_by(
            "due_at", "id"
        )
    )


def _orm_answers(conversation_id: int):
    return Message.objects.filter(
        conversation_id=conversation_id,
        is_visible=True,
        direction=Direction.OUTBOUND,
        sender_role__in=["CUSTOMER_SERVICE", "SHOP"],
        delivery_state__in=["sent", "received"],
    )


def test_the_answered_waits_reads_equal_their_orm_forms_for_each_calls_values(world):
    # Given one conversation waiting (a buyer at 10:00) and one answered at 11:00 and 13:00
    # after its buyer wrote at 10:00 and 12:00
    waiting = store(world.shop_a1, "cmp-w", ("BUYER", TUE_10))
    answered = store(
        world.shop_a1,
        "cmp-a",
        ("BUYER", TUE_10),
        ("CUSTOMER_SERVICE", TUE_10 + H),
        ("BUYER", TUE_10 + 2 * H),
        ("CUSTOMER_SERVICE", TUE_10 + 3 * H),
    )
    assert _orm_open(waiting.id)  # the waiting one has open deadlines
    now = TUE_10 + 30 * H
    for _round in range(2):  # the first call compiles, the second runs the statement kept
        # Then each conversation's open deadlines are its own, in due order
        for chat in (waiting, answered, waiting):
            ref = SubjectRef("conversation", chat.id, chat.organisation_id, chat.shop_account_id)
            got = ref.open_rows()
            assert [(d.id, d.kind, d.due_at, d.rule) for d in got] == [
                (d.id, d.kind, d.due_at, d.rule) for d in _orm_open(chat.id)
            ]
        # And the last answer's time is the answered one's latest (a synced message: its
        # platform time), none for the waiting one
        assert lifecycle._answered_at(answered.id, now) == TUE_10 + 3 * H
        assert lifecycle._answered_at(waiting.id, now) is None
        # And the first answer after a time follows that time
        for after in (TUE_10, TUE_10 + 2 * H, TUE_10 + 3 * H):
            expected = (
                _orm_answers(answered.id)
                .filter(sent_at__gt=after)
                .order_by("sent_at", "id")
                .values("sent_at", "synced", "author_id")
                .first()
            )
            assert facts._first_answer_after(answered.id, after) == expected
        assert facts._first_answer_after(answered.id, TUE_10) == {
            "sent_at": TUE_10 + H,
            "synced": True,
            "author_id": None,
        }
        assert facts._first_answer_after(answered.id, TUE_10 + 3 * H) is None
        # And the open request is the waiting conversation's own (none for the answered one)
        for chat in (waiting, answered, waiting):
            orm = ResponseFact.objects.filter(conversation_id=chat.id, state="open").first()
            got = facts._open_request_of(chat.id)
            assert (got and (got.id, got.received_at)) == (orm and (orm.id, orm.received_at))
        fact = facts._open_request_of(waiting.id)
        assert fact is not None and fact.received_at == TUE_10
        assert facts._open_request_of(answered.id) is None


def test_a_cases_open_deadlines_are_its_own(world):
    # Given two refund requests pending with the seller, due at different times
    early = case_store(world.shop_a1, platform_case(TUE_10, seller_deadline=TUE_10 + 6 * H))
    late = case_store(
        world.shop_a1,
        platform_case(TUE_10, case_id="4036000000000002", seller_deadline=TUE_10 + 48 * H),
    )
    for case in (early, late, early):
        # Then each case's open deadlines are its own, as the ORM reads them
        ref = SubjectRef("case", case.id, case.organisation_id, case.shop_account_id)
        orm = Deadline.objects.filter(case_id=case.id, state="open").order_by("due_at", "id")
        assert [(d.id, d.due_at) for d in ref.open_rows()] == [(d.id, d.due_at) for d in orm]
        assert ref.open_rows()
    assert ref.open_rows()[0].case_id == early.id
