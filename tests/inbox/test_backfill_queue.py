"""The periodic backfill queues a shop's stream only when its last backfill is neither queued
nor running: under load the tick (600 tasks a minute for 200 shops) no longer piles up on the
workers (the soak benchmark's finding), and a task lost with its worker is queued again after
``SCRM_BACKFILL_QUEUED_SECONDS``."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from inbox.models import ShopAccount, SyncCursor, SyncStream, WebhookEvent
from inbox.services.ingestion import QUIET_RUNS_KEPT, SYNC_STREAM_READERS, backfill_next_run
from inbox.tasks import backfill_all_shops, backfill_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_queue(broker):
    """The broker as services mode fills it (tests/inbox/conftest.py), the queued marks
    cleared before and after."""
    cache.delete_many(_marks())
    yield broker
    cache.delete_many(_marks())


def _marks() -> list[str]:
    return [
        f"scrm:backfill-queued:{shop_id}:{stream}"
        for shop_id in ShopAccount.objects.values_list("id", flat=True)
        for stream in SYNC_STREAM_READERS
    ]


def _queued(broker) -> Counter:
    found: Counter = Counter()
    for name, args in broker.take():
        assert name == "inbox.tasks.backfill_shop"
        found[args] += 1
    return found


def test_a_stream_still_queued_is_not_queued_again(world, broker_queue):
    shops = list(ShopAccount.objects.filter(is_active=True).values_list("id", flat=True))
    every = {(shop, stream) for shop in shops for stream in SYNC_STREAM_READERS}
    # When the tick runs three times while no worker has taken anything
    for _ in range(3):
        assert backfill_all_shops() == len(shops)
    # Then each shop's stream is queued once, not three times
    first = _queued(broker_queue)
    assert set(first) == every and set(first.values()) == {1}
    # When a worker runs one of them, the tick once its next run is due queues that one
    # again, and only it
    shop, stream = min(every)
    backfill_shop.apply(args=[shop, stream])
    SyncCursor.objects.filter(shop_account_id=shop, stream=stream).update(
        next_run_at=timezone.now()
    )
    backfill_all_shops()
    assert _queued(broker_queue) == Counter({(shop, stream): 1})


def test_a_backfill_lost_with_its_worker_is_queued_again_later(world, broker_queue, settings):
    settings.SCRM_BACKFILL_QUEUED_SECONDS = 1
    backfill_all_shops()
    lost = _queued(broker_queue)  # taken by a worker that was then killed: never run
    assert lost
    backfill_all_shops()
    assert _queued(broker_queue) == Counter()  # still marked queued
    time.sleep(1.2)
    backfill_all_shops()
    assert _queued(broker_queue) == lost  # the marks expired: every stream queued again


def test_the_tick_leaves_a_resting_stream_for_later(world, broker_queue):
    shop = world.shop_a1.id
    now = timezone.now()
    # Given a quiet stream resting four minutes more, and one due twenty seconds from now
    SyncCursor.objects.create(
        shop_account_id=shop, stream=SyncStream.MESSAGES, next_run_at=now + timedelta(minutes=4)
    )
    SyncCursor.objects.create(
        shop_account_id=shop, stream=SyncStream.RETURNS, next_run_at=now + timedelta(seconds=20)
    )
    # When the tick runs
    backfill_all_shops()
    queued = _queued(broker_queue)
    # Then the resting one is left for later; the one due before the next tick is queued
    assert (shop, SyncStream.MESSAGES) not in queued
    assert (shop, SyncStream.RETURNS) in queued and (shop, SyncStream.CANCELLATIONS) in queued
    # And once its time has come, the tick queues it
    SyncCursor.objects.filter(shop_account_id=shop, stream=SyncStream.MESSAGES).update(
        next_run_at=now - timedelta(seconds=1)
    )
    cache.delete_many(_marks())  # the others' tasks were taken above and never run
    backfill_all_shops()
    assert (shop, SyncStream.MESSAGES) in _queued(broker_queue)


def _webhook_waiting(
    shop_id: int, n: int, *, seconds: float = 31, kind: str = "new_message", **about: str
) -> WebhookEvent:
    """A webhook of the shop received ``seconds`` ago, not yet tried by the workers, about
    the platform object ``about`` names (a conversation unless told)."""
    event = WebhookEvent.objects.create(
        platform="tiktok_shop",
        notification_id=f"waiting-{shop_id}-{n}",
        shop_account_id=shop_id,
        type_code=14,
        kind=kind,
        body="{}",
        **(about or {"conversation_platform_id": f"c-{n}"}),
    )
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(seconds=seconds)
    )
    return event


def _streams_of(queued: Counter, shop_id: int) -> set[str]:
    return {stream for shop, stream in queued if shop == shop_id}


def test_a_stream_the_workers_are_behind_on_waits_as_long_as_a_quiet_stream(
    world, broker_queue, settings
):
    settings.SCRM_BACKFILL_QUIET_MAX_SECONDS = 300  # five ticks of 60 s
    behind, other = world.shop_a1.id, world.shop_a2.id
    every = set(SYNC_STREAM_READERS)
    now = timezone.now()
    # Given two shops whose streams ran a minute ago and are due again now, a webhook about a
    # conversation of the first waiting for the workers for over 30 s, and one of the second
    # just received (the workers keeping up)
    for shop in (behind, other):
        for stream in SYNC_STREAM_READERS:
            SyncCursor.objects.create(
                shop_account_id=shop,
                stream=stream,
                last_run_at=now - timedelta(minutes=1),
                next_run_at=now,
            )
    event = _webhook_waiting(behind, 1)
    _webhook_waiting(other, 1, seconds=0)
    # When the tick runs, then the first shop's messages are left for later (their backfill
    # would find what that webhook brings), its returns and cancellations are read (the
    # webhook brings them nothing), and so is every stream of the other shop
    backfill_all_shops()
    queued = _queued(broker_queue)
    assert _streams_of(queued, behind) == every - {SyncStream.MESSAGES}
    assert _streams_of(queued, other) == every
    # And a webhook about a return holds back that shop's returns
    cache.delete_many(_marks())
    _webhook_waiting(other, 2, kind="return_status", return_platform_id="r-1")
    backfill_all_shops()
    assert _streams_of(_queued(broker_queue), other) == every - {SyncStream.RETURNS}
    # And a webhook the workers have tried (it failed, it stays received), or one older than
    # the stale sweep's day (left to the backfill), holds nothing back: the backfill is how
    # what it was about is found
    cache.delete_many(_marks())
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=1)
    _webhook_waiting(behind, 3, seconds=86_400 + 60)
    backfill_all_shops()
    assert _streams_of(_queued(broker_queue), behind) == every
    # And while webhooks keep waiting, a stream waits no longer than a quiet one rests: at
    # the tick that would run a stream resting the longest since its last run, it is read,
    # and a message whose webhook was lost meanwhile is found
    cache.delete_many(_marks())
    _webhook_waiting(behind, 4)
    backfill_all_shops()
    assert SyncStream.MESSAGES not in _streams_of(_queued(broker_queue), behind)
    SyncCursor.objects.filter(shop_account_id=behind).update(
        last_run_at=timezone.now() - timedelta(seconds=275)  # due by this tick's midpoint
    )
    cache.delete_many(_marks())
    backfill_all_shops()
    assert _streams_of(_queued(broker_queue), behind) == every


@pytest.mark.parametrize("past_the_minute", [17, 45])
def test_streams_that_went_quiet_together_come_due_spread_over_the_cap(settings, past_the_minute):
    settings.SCRM_BACKFILL_QUIET_MAX_SECONDS = 300  # five ticks of 60 s
    streams = [(shop, stream) for shop in range(1, 201) for stream in SYNC_STREAM_READERS]
    first = datetime(2026, 12, 6, 18, 0, past_the_minute, tzinfo=UTC)  # beat's ticks
    # Given 600 streams resting the longest, all due at the same tick (they went quiet
    # together: every shop at start-up, or after the platform was down)
    due = dict.fromkeys(streams, first)
    last_run: dict[tuple[int, str], datetime] = {}
    read_at_tick = []
    for minute in range(40):
        # When each tick reads what is due by its next half period (backfill_resting's rule),
        # each task running a few seconds after it
        tick = first + timedelta(minutes=minute)
        ran = [key for key, at in due.items() if at <= tick + timedelta(seconds=30)]
        read_at_tick.append(len(ran))
        for shop, stream in ran:
            now = tick + timedelta(seconds=3)
            # (never longer than the cap and a tick between two runs: the lost webhook's bound)
            assert now - last_run.get((shop, stream), now) <= timedelta(seconds=360)
            last_run[shop, stream] = now
            due[shop, stream] = backfill_next_run(
                now=now, quiet_runs=QUIET_RUNS_KEPT, shop_account_id=shop, stream=stream
            )
    # Then from the next tick on each reads a fifth of them, every stream every five minutes,
    # instead of all 600 at every fifth tick
    assert read_at_tick[0] == 600
    assert read_at_tick[1:] == [120] * 39
