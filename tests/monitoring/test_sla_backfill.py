"""Requests already waiting when the SLA tracker was installed get their deadlines from
``manage.py sla_backfill`` (monitoring/sla/backfill.py), once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from inbox.models import ANSWERED_SENTINEL, AfterSalesCase, Conversation
from monitoring.models.sla import Deadline
from monitoring.sla.backfill import deadlines_backfill
from tests.monitoring.sla_builders import buyer, case_store, opened, platform_case, store

pytestmark = pytest.mark.django_db

# Tuesday 24 November 2026, 10:00 in Los Angeles (shop a1's time zone).
TUE_10 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _as_before_the_upgrade(*subjects) -> None:
    """Remove the deadlines the tracker opened, as if the requests came before it existed."""
    for subject in subjects:
        field = "conversation" if isinstance(subject, Conversation) else "case"
        Deadline.objects.filter(**{field: subject}).delete()
        type(subject).objects.filter(pk=subject.pk).update(sla_due_at=ANSWERED_SENTINEL)


def test_backfill_opens_the_missing_deadlines_from_the_requests_own_time_and_only_once(world):
    # Given a buyer waiting since Tuesday 10:00, an answered conversation, and a case needing a
    # decision, none with deadlines (they came before the upgrade)
    waiting = buyer(world.shop_a1, "bf-1", TUE_10)
    answered = store(world.shop_a1, "bf-2", ("BUYER", TUE_10), ("SHOP", TUE_10 + H))
    case = case_store(world.shop_a1, platform_case(TUE_10))
    _as_before_the_upgrade(waiting, answered, case)

    # When the backfill runs on Wednesday
    out = StringIO()
    call_command("sla_backfill", stdout=out)

    # Then the waiting conversation and the case have their deadlines, started at the request
    assert "1 conversation(s) and 1 case(s)" in out.getvalue()
    chat = opened(waiting)
    assert set(chat) == {"first_reply", "same_day"}
    assert chat["first_reply"].started_at == TUE_10
    assert chat["first_reply"].due_at == TUE_10 + 24 * H
    assert chat["same_day"].due_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 18:00 LA
    assert set(opened(case)) == {"after_sales", "same_day"}
    assert Conversation.objects.get(pk=waiting.pk).sla_due_at == chat["same_day"].due_at
    assert AfterSalesCase.objects.get(pk=case.pk).sla_due_at < ANSWERED_SENTINEL
    # and the answered one has none
    assert not opened(answered)

    # When it runs again, nothing more opens
    again = deadlines_backfill()
    assert (again.conversations, again.cases) == (0, 0)
    assert Deadline.objects.filter(state="open").count() == 4


def test_backfill_walks_every_batch(world):
    # Given more waiting conversations than one batch holds
    chats = [buyer(world.shop_a1, f"bf-many-{n}", TUE_10 + n * H) for n in range(5)]
    _as_before_the_upgrade(*chats)

    # When the backfill runs two at a time
    result = deadlines_backfill(batch=2)

    # Then every one of them got its deadlines
    assert result.conversations == 5
    assert all(set(opened(c)) == {"first_reply", "same_day"} for c in chats)


def test_a_wait_whose_deadlines_a_robot_closed_is_not_reopened(world):
    # Given a buyer waiting whose deadlines were closed by a robot's reply (the policy allows it)
    chat = buyer(world.shop_a1, "bf-robot", TUE_10)
    Deadline.objects.filter(conversation=chat).update(state="met", closed_at=TUE_10 + H)
    Conversation.objects.filter(pk=chat.pk).update(sla_due_at=ANSWERED_SENTINEL)

    # When the backfill runs
    result = deadlines_backfill()

    # Then that wait gets no second deadline
    assert result.conversations == 0
    assert not opened(chat)
