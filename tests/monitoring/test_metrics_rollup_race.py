"""A rebuild racing a change on PostgreSQL: an answer stored while the rollup is rebuilding the
answer's day (the rebuild having read that day's facts before the answer committed) leaves the
day marked, so the next rebuild counts it. Held by a trigger that keeps the rebuild between
its read of the facts and its writes; SQLite serialises writers, so the race is PostgreSQL's.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from django.db import connection, connections

from monitoring.metrics.facts import days_mark
from monitoring.metrics.rollup import dirty_days_rebuild
from monitoring.metrics.selectors import shop_metrics
from monitoring.models.metrics import MetricDirtyDay
from tests.monitoring.metrics_builders import store, utc

pytestmark = pytest.mark.django_db(transaction=True)

NOW = utc(2026, 11, 30, 12, 0)
ASKED = utc(2026, 11, 20, 9, 0)  # 20 November, in the window (shop a1: Los Angeles)
HOLD_SECONDS = 3


def _hold_rebuilds() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION hold_rollup() RETURNS trigger AS $$ BEGIN "
            f"PERFORM pg_sleep({HOLD_SECONDS}); RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER hold_rollup BEFORE DELETE ON monitoring_metricday "
            "FOR EACH STATEMENT EXECUTE FUNCTION hold_rollup()"
        )


def _release_rebuilds() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS hold_rollup ON monitoring_metricday")
        cursor.execute("DROP FUNCTION IF EXISTS hold_rollup()")


def _rebuild_sleeping() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
            "AND query LIKE '%%monitoring_metricday%%'"
        )
        return cursor.fetchone()[0] > 0


def test_an_answer_stored_during_a_rebuild_of_its_day_is_counted_by_the_next(world):
    if connection.vendor != "postgresql":
        pytest.skip("the race is PostgreSQL's (SQLite serialises writers)")
    shop = world.shop_a1
    # Given a chat request of 20 November, not answered, in the rollup
    store(shop, "race-1", ("BUYER", ASKED))
    dirty_days_rebuild()
    figures = shop_metrics(world.supervisor_a, shop.id, now=NOW).figures.chat
    assert (figures.counted, figures.answered) == (1, 0)
    # and its day marked again (another change of it), a rebuild of it under way that has
    # read the day's facts and is held before writing
    day = date(2026, 11, 20)  # 01:00 in Los Angeles
    days_mark(shop.id, [day])
    _hold_rebuilds()
    try:
        rebuilder = threading.Thread(target=_rebuild_in_thread, args=(shop.id,))
        rebuilder.start()
        deadline = time.monotonic() + 10
        while not _rebuild_sleeping():
            assert time.monotonic() < deadline, "the rebuild never reached its writes"
            time.sleep(0.05)
        # When a person's answer of that request is stored meanwhile
        store(shop, "race-1", ("CUSTOMER_SERVICE", ASKED + timedelta(hours=2)))
        rebuilder.join(timeout=30)
    finally:
        _release_rebuilds()
    # Then the day is still marked once the held rebuild is done, and the next rebuild (the
    # periodic task's) counts the answer
    assert MetricDirtyDay.objects.filter(shop_account=shop, date=day).exists()
    dirty_days_rebuild()
    figures = shop_metrics(world.supervisor_a, shop.id, now=NOW).figures.chat
    assert (figures.counted, figures.answered, figures.within_24h) == (1, 1, 1)


def _rebuild_in_thread(shop_id: int) -> None:
    try:
        dirty_days_rebuild(shop_account_ids=[shop_id])
    finally:
        connections.close_all()


def test_two_changes_of_a_day_locking_rows_in_opposite_orders_both_commit(world):
    if connection.vendor != "postgresql":
        pytest.skip("the race is PostgreSQL's (SQLite serialises writers)")
    # A rule's reply and its decision, delivered at once, each mark the shop's day and lock a
    # row the other holds; when a mark waited for the other's uncommitted mark, they deadlocked.
    from django.db import transaction

    from inbox.models import ShopAccount

    shop, day = world.shop_a1, date(2026, 11, 20)
    both_started = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def first() -> None:  # marks the day, then wants the shop's row
        try:
            with transaction.atomic():
                days_mark(shop.id, [day])
                both_started.wait()
                ShopAccount.objects.select_for_update().get(id=shop.id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:  # holds the shop's row, then marks the day
        try:
            with transaction.atomic():
                ShopAccount.objects.select_for_update().get(id=shop.id)
                both_started.wait()
                time.sleep(0.2)  # the first is waiting for the row by now
                days_mark(shop.id, [day])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    # And the day is marked (twice: neither saw the other's mark), rebuilt once, then clear
    assert MetricDirtyDay.objects.filter(shop_account=shop, date=day).count() == 2
    assert dirty_days_rebuild() == 1
    assert not MetricDirtyDay.objects.exists()


def test_a_mark_a_rebuild_holds_is_not_waited_for_and_the_day_stays_marked(world):
    if connection.vendor != "postgresql":
        pytest.skip("the race is PostgreSQL's (SQLite serialises writers)")
    from django.db import transaction

    shop, day = world.shop_a1, date(2026, 11, 20)
    days_mark(shop.id, [day])
    claimed, done = threading.Event(), threading.Event()

    def rebuilder() -> None:  # claims the day's mark as a rebuild does, and deletes it late
        try:
            with transaction.atomic():
                rows = list(
                    MetricDirtyDay.objects.select_for_update(skip_locked=True).values_list("id")
                )
                claimed.set()
                done.wait(10)
                MetricDirtyDay.objects.filter(id__in=[r[0] for r in rows]).delete()
        finally:
            connections.close_all()

    thread = threading.Thread(target=rebuilder)
    thread.start()
    assert claimed.wait(10)
    try:
        # When a change of the same day is marked meanwhile, it does not wait for the rebuild
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
            days_mark(shop.id, [day])
    finally:
        done.set()
        thread.join(10)
    # Then the day is still marked after the rebuild deleted the mark it held
    assert MetricDirtyDay.objects.filter(shop_account=shop, date=day).count() == 1
