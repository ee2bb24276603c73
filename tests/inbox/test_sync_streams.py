"""Sync streams: one cursor per (shop account, stream), each moved only by its own backfill, and
the migration that made every existing cursor the messages stream."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from inbox.models import Message, SyncCursor, SyncStream
from inbox.platforms.base import TransientError
from inbox.services import ingestion
from inbox.services.ingestion import StreamRun, shop_backfill, stream_backfill
from inbox.tasks import backfill_all_shops
from tests.migration_db import migrated_to, scratch_database

pytestmark = pytest.mark.django_db(transaction=True)

RETURNS_MARK = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _cursor(shop, stream: str) -> SyncCursor:
    return SyncCursor.objects.get(shop_account=shop, stream=stream)


def _lost_buyer_messages(platform, shop, count: int, *, later: float = 0) -> None:
    for i in range(count):
        platform.sim.buyer_message(
            shop.platform_shop_id,
            buyer_user_id=f"s{i}",
            nickname=f"S{i}",
            text=f"where {i}",
            at=time.time() + later,
        )
    platform.sim.deliver_webhooks(drop=1.0)  # every notification lost


@pytest.fixture
def returns_stream(monkeypatch):
    """A returns reader registered as the after-sales capability will register one; what it
    does on its next run is set by the test."""
    runs: list[object] = []

    def read(shop, api, high_water):
        outcome = runs.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setitem(ingestion.SYNC_STREAM_READERS, SyncStream.RETURNS, read)
    return runs


def test_each_stream_keeps_its_own_cursor(world, platform, returns_stream):
    shop = world.shop_a1
    _lost_buyer_messages(platform, shop, 2)
    # Given the messages stream has run once
    assert stream_backfill(shop=shop, stream=SyncStream.MESSAGES) == 2
    messages = _cursor(shop, SyncStream.MESSAGES)
    assert messages.high_water is not None and messages.last_error == ""
    # When the returns stream runs, seeing returns up to its own time
    returns_stream.append(StreamRun(stored=3, newest=RETURNS_MARK, complete=True))
    assert stream_backfill(shop=shop, stream=SyncStream.RETURNS) == 3
    # Then it has a cursor of its own at that time, and the messages cursor has not moved
    assert _cursor(shop, SyncStream.RETURNS).high_water == RETURNS_MARK
    assert _cursor(shop, SyncStream.MESSAGES).high_water == messages.high_water
    assert _cursor(shop, SyncStream.MESSAGES).last_run_at == messages.last_run_at
    # And when new messages arrive and the messages stream runs again, only its cursor moves
    _lost_buyer_messages(platform, shop, 1, later=60)
    assert stream_backfill(shop=shop, stream=SyncStream.MESSAGES) == 1
    assert _cursor(shop, SyncStream.MESSAGES).high_water > messages.high_water
    assert _cursor(shop, SyncStream.RETURNS).high_water == RETURNS_MARK
    assert SyncCursor.objects.filter(shop_account=shop).count() == 2


def test_a_failing_stream_does_not_hold_back_the_others(world, platform, returns_stream):
    shop = world.shop_a1
    _lost_buyer_messages(platform, shop, 2)
    # Given the returns stream has a mark, and the platform fails its next read
    returns_stream.append(StreamRun(stored=0, newest=RETURNS_MARK, complete=True))
    stream_backfill(shop=shop, stream=SyncStream.RETURNS)
    returns_stream.append(TransientError("returns search failed"))
    # When the shop's backfill runs every stream
    with pytest.raises(TransientError):
        shop_backfill(shop=shop)
    # Then the messages were still stored and their cursor moved; the returns cursor keeps its
    # mark and says what failed
    assert Message.objects.filter(shop_account=shop).count() == 2
    assert _cursor(shop, SyncStream.MESSAGES).high_water is not None
    assert _cursor(shop, SyncStream.MESSAGES).last_error == ""
    returns = _cursor(shop, SyncStream.RETURNS)
    assert (returns.high_water, returns.last_error) == (RETURNS_MARK, "TransientError")


def test_a_run_cut_short_keeps_the_mark(world, platform, returns_stream):
    shop = world.shop_a1
    returns_stream.append(StreamRun(stored=0, newest=RETURNS_MARK, complete=True))
    stream_backfill(shop=shop, stream=SyncStream.RETURNS)
    # When a run reaches its page limit before the end
    later = datetime(2026, 12, 1, tzinfo=UTC)
    returns_stream.append(StreamRun(stored=20, newest=later, complete=False))
    stream_backfill(shop=shop, stream=SyncStream.RETURNS)
    # Then the mark stays, so the next run reads on from it, and the cursor says why
    returns = _cursor(shop, SyncStream.RETURNS)
    assert (returns.high_water, returns.last_error) == (RETURNS_MARK, "page limit reached")


def test_the_periodic_backfill_runs_each_stream_of_each_active_shop(
    world, platform, returns_stream
):
    _lost_buyer_messages(platform, world.shop_a1, 1)
    connected = [world.shop_a1, world.shop_a2, world.shop_b1]
    for _ in connected:
        returns_stream.append(StreamRun(stored=0, newest=RETURNS_MARK, complete=True))
    # When the periodic task runs (eagerly here: a task per active shop and stream)
    assert backfill_all_shops.apply().get() == 4
    # Then every connected shop has a cursor per stream, each run and clean
    for shop in connected:
        cursors = {c.stream: c for c in SyncCursor.objects.filter(shop_account=shop)}
        assert set(cursors) == {
            SyncStream.MESSAGES,
            SyncStream.RETURNS,
            SyncStream.CANCELLATIONS,
        }
        assert all(c.last_run_at is not None and c.last_error == "" for c in cursors.values())
    assert Message.objects.filter(shop_account=world.shop_a1).count() == 1
    # And the shop never connected (a3) was not read: nothing to call the platform with
    assert not SyncCursor.objects.filter(shop_account=world.shop_a3).exists()


def _rest(cursor: SyncCursor) -> float:
    """Seconds from the cursor's last run to its next."""
    return (cursor.next_run_at - cursor.last_run_at).total_seconds()


def test_a_quiet_stream_rests_longer_after_each_quiet_run_and_not_once_it_finds_something(
    world, platform, settings
):
    settings.SCRM_BACKFILL_QUIET_MAX_SECONDS = 300  # the tick: every 60 s
    shop = world.shop_a1
    # Given the webhooks deliver everything: each run finds nothing missing
    rests = []
    for _ in range(4):
        assert stream_backfill(shop=shop, stream=SyncStream.MESSAGES) == 0
        rests.append(_rest(_cursor(shop, SyncStream.MESSAGES)))
    # Then the stream is read again 2, then 4 minutes later (twice as long after each quiet
    # run), then at most the cap (and half a tick) later, in its own slot of the cap's five
    # ticks: on a minute of the clock numbered (its shop and stream numbered) round five
    assert rests[:2] == [120.0, 240.0]
    assert all(30 < rest <= 330 for rest in rests[2:])
    due = _cursor(shop, SyncStream.MESSAGES).next_run_at.timestamp()
    assert due % 60 == 0 and (due // 60) % 5 == (shop.id * len(ingestion.SYNC_STREAM_READERS)) % 5
    # When a buyer's message reaches the platform but its webhook is lost
    _lost_buyer_messages(platform, shop, 1)
    # Then the next run finds it, and the stream is read at every tick again
    assert stream_backfill(shop=shop, stream=SyncStream.MESSAGES) == 1
    cursor = _cursor(shop, SyncStream.MESSAGES)
    assert (cursor.quiet_runs, _rest(cursor)) == (0, 60.0)
    # And after a run that failed, at the next tick too
    platform.sim.set_fault("/customer_service/", "5xx", count=20)
    with pytest.raises(TransientError):
        stream_backfill(shop=shop, stream=SyncStream.MESSAGES)
    cursor = _cursor(shop, SyncStream.MESSAGES)
    assert (cursor.quiet_runs, cursor.next_run_at, cursor.last_error) == (
        0,
        None,
        "TransientError",
    )


def test_a_run_cut_short_is_followed_at_the_next_tick(world, platform, returns_stream):
    shop = world.shop_a1
    returns_stream.append(StreamRun(stored=0, newest=RETURNS_MARK, complete=True))
    stream_backfill(shop=shop, stream=SyncStream.RETURNS)
    assert _cursor(shop, SyncStream.RETURNS).quiet_runs == 1
    # When a run reaches its page limit having stored nothing new (all it read was stored)
    returns_stream.append(StreamRun(stored=0, newest=RETURNS_MARK, complete=False))
    stream_backfill(shop=shop, stream=SyncStream.RETURNS)
    # Then it is not quiet: the next tick reads on
    cursor = _cursor(shop, SyncStream.RETURNS)
    assert (cursor.quiet_runs, _rest(cursor)) == (0, 60.0)


def test_two_cursors_of_one_stream_cannot_exist(world):
    SyncCursor.objects.create(shop_account=world.shop_a1, stream=SyncStream.MESSAGES)
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncCursor.objects.create(shop_account=world.shop_a1, stream=SyncStream.MESSAGES)


# --- the data migration ----------------------------------------------------------------------
BEFORE = ("inbox", "0009_organisation_settings_and_invitations")
AFTER = ("inbox", "0010_sync_streams_and_webhook_ids")


def test_migration_0010_forward_and_back():
    # On a database of its own migrated to 0009, so that only 0010 goes back and forth.
    mark = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with scratch_database():
        # Given a database before 0010, with a shop's one cursor, a stored webhook and a
        # waiting webhook whose body names a conversation by an id no platform uses
        old = migrated_to(BEFORE)
        org = old.get_model("inbox", "Organisation").objects.create(name="Org", slug="org")
        shop = old.get_model("inbox", "ShopAccount").objects.create(
            organisation=org, platform="tiktok_shop", platform_shop_id="s1", name="S"
        )
        old.get_model("inbox", "SyncCursor").objects.create(
            shop_account_id=shop.id, high_water=mark, last_error="TransientError"
        )
        webhooks = old.get_model("inbox", "WebhookEvent").objects
        webhooks.create(
            platform="tiktok_shop",
            notification_id="n-before",
            shop_account_id=shop.id,
            type_code=12,
            kind="return_status",
            body=json.dumps(
                {
                    "type": 12,
                    "shop_id": "s1",
                    "tts_notification_id": "n-before",
                    "data": {"return_id": "4035", "order_id": "5765"},
                }
            ),
            status="ignored",
        )
        webhooks.create(
            platform="tiktok_shop",
            notification_id="n-bad",
            shop_account_id=shop.id,
            type_code=14,
            kind="new_message",
            body=json.dumps({"type": 14, "data": {"conversation_id": "../../etc"}}),
            status="received",
        )
        # When it migrates to 0010
        new = migrated_to(AFTER)
        # Then that cursor is the shop's messages cursor, its mark and state kept
        cursors = new.get_model("inbox", "SyncCursor").objects
        cursor = cursors.get()
        assert (cursor.shop_account_id, cursor.stream) == (shop.id, "messages")
        assert (cursor.high_water, cursor.last_error) == (mark, "TransientError")
        # And the stored webhook has the ids it is about as columns, without parsing again
        events = new.get_model("inbox", "WebhookEvent").objects
        event = events.get(notification_id="n-before")
        assert (event.return_platform_id, event.order_platform_id) == ("4035", "5765")
        assert (event.conversation_platform_id, event.status) == ("", "ignored")
        # And the bad id is never stored: the event fails with the reason
        event = events.get(notification_id="n-bad")
        assert (event.conversation_platform_id, event.status) == ("", "failed")
        assert event.error == "conversation_id is not a valid platform id"

        # When the shop has two streams' cursors and it migrates back before 0010
        cursors.create(shop_account_id=shop.id, stream="returns")
        old = migrated_to(BEFORE)
        # Then the shop keeps one cursor, the messages stream's
        kept = old.get_model("inbox", "SyncCursor").objects.get()
        assert (kept.shop_account_id, kept.high_water) == (shop.id, mark)
