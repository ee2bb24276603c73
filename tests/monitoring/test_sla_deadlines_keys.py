"""The one-open-per-kind rule against a writer that did not see the other's row, the queue
key's writer for many subjects at once, and a time-zone change recomputed organisation-wide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.models import ANSWERED_SENTINEL, Conversation
from inbox.services.sla_keys import sla_due_set
from monitoring.models.sla import Deadline
from monitoring.sla.deadlines import Rules, SubjectRef, deadlines_open
from monitoring.sla.recompute import deadlines_recompute
from tests.monitoring.sla_builders import buyer, opened

pytestmark = pytest.mark.django_db

TUE_10 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # Tuesday 10:00 in Los Angeles
H = timedelta(hours=1)


def test_a_second_opening_that_missed_the_first_adds_nothing_and_raises_nothing(world):
    # Given a conversation with its deadlines open
    chat = buyer(world.shop_a1, "key-1", TUE_10)
    ref = SubjectRef(
        subject="conversation",
        id=chat.id,
        organisation_id=chat.organisation_id,
        shop_account_id=chat.shop_account_id,
    )
    # When another writer, unaware of them, opens the same kinds again
    deadlines_open(
        ref=ref,
        requests=[("first_reply", TUE_10 + H), ("same_day", TUE_10 + H)],
        rules=Rules.for_shop(world.shop_a1.id),
        existing=[],
        now=datetime.now(UTC),
    )
    # Then the unique constraint kept one open deadline per kind, the first ones
    got = opened(chat)
    assert set(got) == {"first_reply", "same_day"}
    assert got["first_reply"].started_at == TUE_10
    assert Deadline.objects.filter(conversation=chat).count() == 2


def test_the_queue_key_of_many_subjects_in_one_update(world, django_assert_num_queries):
    a = buyer(world.shop_a1, "key-2", TUE_10)
    b = buyer(world.shop_a1, "key-3", TUE_10)
    c = buyer(world.shop_a1, "key-4", TUE_10)
    with django_assert_num_queries(1):
        sla_due_set(conversations={a.id: TUE_10, b.id: TUE_10 + H, c.id: None})
    keys = dict(
        Conversation.objects.filter(pk__in=[a.id, b.id, c.id]).values_list("pk", "sla_due_at")
    )
    assert keys == {a.id: TUE_10, b.id: TUE_10 + H, c.id: ANSWERED_SENTINEL}


def test_a_shops_time_zone_change_moves_its_same_day_deadlines(world):
    # Given a buyer of shop a1 (Los Angeles) on Tuesday 10:00 local: same-day due 18:00 local
    chat = buyer(world.shop_a1, "key-5", TUE_10)
    assert opened(chat)["same_day"].due_at == TUE_10 + 8 * H
    # When the shop moves to London time and the organisation's deadlines are recomputed
    world.shop_a1.time_zone = "Europe/London"
    world.shop_a1.save(update_fields=["time_zone"])
    deadlines_recompute(organisation_id=world.org_a.id)
    # Then 18:00 UTC on Tuesday was already past (after the cut-off): Wednesday 18:00 London
    same_day = opened(chat)["same_day"]
    assert same_day.due_at == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    assert same_day.rule["time_zone"] == "Europe/London"
    chat.refresh_from_db()
    assert chat.sla_due_at == same_day.due_at
