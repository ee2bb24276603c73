"""Follow-up reminders: the periodic sweep reminds a due follow-up's owner once (a
``follow_up.due`` event to them, no buyer data; the bell and channels:
test_profiles_followup_alerts.py), through the scheduler as it runs in
production, after an idle period longer than the sweep's interval."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from inbox.events import FOLLOW_UP_DUE
from inbox.models import FollowUp, InboxEvent
from inbox.services import profiles
from inbox.services.profiles.reminders import follow_ups_remind
from scrm.events import payload_check
from scrm.scheduler import Scheduler
from tests.inbox.profile_builders import buyer

PROMISE = "Send the replacement tracking number"


def _follow_up(world, *, due_in: timedelta, owner=None) -> FollowUp:
    customer = buyer(world.shop_a1, "Alice Wong")
    follow_up = profiles.follow_up_create(
        actor=world.agent_a1,
        customer_id=customer.id,
        promise=PROMISE,
        due_at=timezone.now() + timedelta(minutes=1),
        owner_id=owner.id if owner else None,
    )
    FollowUp.objects.filter(id=follow_up.id).update(due_at=timezone.now() + due_in)
    return follow_up


def _reminders(user_id: int) -> list[dict]:
    rows = InboxEvent.objects.filter(type=FOLLOW_UP_DUE.name, user_id=user_id).order_by("id")
    for row in rows:
        payload_check(FOLLOW_UP_DUE, row.data)
    return [row.data for row in rows]


@pytest.mark.django_db
def test_a_due_follow_up_reminds_its_owner_once(world):
    # Given a follow-up past due, one done, and one not due yet
    due = _follow_up(world, due_in=-timedelta(minutes=5))
    done = _follow_up(world, due_in=-timedelta(minutes=5))
    profiles.follow_up_complete(
        actor=world.agent_a1, customer_id=done.customer_id, follow_up_id=done.id
    )
    _follow_up(world, due_in=timedelta(hours=1))
    # When the sweep runs twice
    first, second = follow_ups_remind(), follow_ups_remind()
    # Then only the due one reminded its owner, once, with no buyer data
    assert (first.reminded, first.told, second.reminded) == (1, 1, 0)
    [event] = _reminders(world.agent_a1.id)
    assert event["id"] == due.id
    assert event["text"] == f"Follow-up due: customer #{due.customer_id}, shop A1 US"
    assert event["url"] == f"/customers/{due.customer_id}/"
    assert PROMISE not in str(event) and "Alice" not in str(event)
    assert FollowUp.objects.get(id=due.id).reminded_at is not None


@pytest.mark.django_db
def test_a_deactivated_owner_gets_no_event_and_it_is_not_retried(world):
    follow_up = _follow_up(world, due_in=-timedelta(minutes=1))
    world.agent_a1.is_active = False
    world.agent_a1.save(update_fields=["is_active"])
    assert follow_ups_remind().told == 0
    assert _reminders(world.agent_a1.id) == []
    assert FollowUp.objects.get(id=follow_up.id).reminded_at is not None


@pytest.mark.django_db
def test_the_reminder_is_in_the_owners_language(world):
    member = world.agent_a1.member
    member.language = "zh-hans"
    member.save(update_fields=["language"])
    follow_up = _follow_up(world, due_in=-timedelta(minutes=1))
    follow_ups_remind()
    [event] = _reminders(world.agent_a1.id)
    assert f"#{follow_up.customer_id}" in event["text"]
    assert "Follow-up due" not in event["text"]


async def _receive(layer, channel: str, n: int) -> list[dict]:
    # On one event loop: channels_redis buffers a specific channel's messages per loop.
    return [await layer.receive(channel) for _ in range(n)]


@pytest.mark.django_db(transaction=True)
def test_the_periodic_sweep_reminds_after_an_idle_period(world, settings):
    # Given the owner's live group on the channel layer (Redis in services mode), and the
    # sweep scheduled every 0.3 s as beat and the embedded scheduler run it
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{world.agent_a1.id}", channel)
    follow_up = _follow_up(world, due_in=timedelta(seconds=1))
    scheduler = Scheduler({"inbox.tasks.follow_ups_remind": 0.3})
    scheduler.start()
    try:
        # When nothing happens for longer than the interval, past the due time
        time.sleep(2.5)
    finally:
        scheduler.stop()
    # Then the owner was reminded exactly once, live (the bell's sla.alert and the
    # follow_up.due) and in the change feed
    assert [e["id"] for e in _reminders(world.agent_a1.id)] == [follow_up.id]
    received = async_to_sync(_receive)(layer, channel, 2)
    assert sorted(r["event"]["type"] for r in received) == ["follow_up.due", "sla.alert"]
    assert f"/customers/{follow_up.customer_id}/" in str(received)
    assert f"'follow_up_id': {follow_up.id}" in str(received)
    assert FollowUp.objects.get(id=follow_up.id).reminded_at is not None
