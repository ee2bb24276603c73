"""The 60-day figures over a seeded history, stored through the real ingestion paths
(``messages_store``, ``after_sales_case_upsert``), against values worked out by hand below
(docs/insights.md, "Counting rules"): days in the shop's time zone, a window of 60 days ending
yesterday, robots counting for the first response but never for after-sales, requests still
inside their 24 hours left out, cases the buyer withdrew not counted at all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from monitoring.metrics.selectors import shop_metrics
from tests.monitoring.metrics_builders import case, store, utc

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
# "Now" for the figures: Monday 30 November 2026, 12:00 UTC (London 12:00 GMT, Kuala Lumpur
# 20:00). The window is 1 October to 29 November, shop-local, on both shops.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def seed_chats(shop) -> None:
    """London (BST, UTC+1, until 25 October; GMT after)."""
    # 1 Oct 00:30 BST (still 30 Sep in UTC): inside; a robot answers in 10 min (600 s).
    store(shop, "w-oct1", ("BUYER", utc(2026, 9, 30, 23, 30)), ("ROBOT", utc(2026, 9, 30, 23, 40)))
    # 30 Sep 23:30 BST: outside, whatever its answer.
    store(shop, "w-sep30", ("BUYER", utc(2026, 9, 30, 22, 30)))
    store(shop, "w-sep30", ("CUSTOMER_SERVICE", utc(2026, 10, 2, 4, 30)))
    # 10 Oct: answered by a person after 30 h (108000 s): late.
    store(shop, "w-late", ("BUYER", utc(2026, 10, 10, 10, 0)))
    store(shop, "w-late", ("CUSTOMER_SERVICE", utc(2026, 10, 11, 16, 0)))
    # 1 Nov: three buyer messages are one request; answered an hour after the first (3600 s).
    store(shop, "w-three", ("BUYER", utc(2026, 11, 1, 8, 0)))
    store(shop, "w-three", ("BUYER", utc(2026, 11, 1, 8, 5)), ("BUYER", utc(2026, 11, 1, 8, 6)))
    store(shop, "w-three", ("CUSTOMER_SERVICE", utc(2026, 11, 1, 9, 0)))
    # 5 Nov: a robot answers in a minute (60 s); the buyer writes again two hours later and a
    # person answers the next day after 26 h (93600 s): two requests.
    store(shop, "w-robot", ("BUYER", utc(2026, 11, 5, 10, 0)))
    store(shop, "w-robot", ("ROBOT", utc(2026, 11, 5, 10, 1)))
    store(shop, "w-robot", ("BUYER", utc(2026, 11, 5, 12, 0)))
    store(shop, "w-robot", ("CUSTOMER_SERVICE", utc(2026, 11, 6, 14, 0)))
    # 20 Nov: never answered: counted, late.
    store(shop, "w-never", ("BUYER", utc(2026, 11, 20, 9, 0)))
    # 29 Nov 20:00: waiting 16 h at NOW: not counted yet.
    store(shop, "w-young", ("BUYER", utc(2026, 11, 29, 20, 0)))
    # 29 Nov 23:30 (the window's last day), answered 2 h later, on 30 Nov (7200 s).
    store(shop, "w-last", ("BUYER", utc(2026, 11, 29, 23, 30)))
    store(shop, "w-last", ("CUSTOMER_SERVICE", utc(2026, 11, 30, 1, 30)))
    # 30 Nov 00:30: today, outside.
    store(shop, "w-today", ("BUYER", utc(2026, 11, 30, 0, 30)))


def test_first_response_over_60_days_in_london(world):
    # Given a London shop's chats over three months
    seed_chats(world.shop_a2)
    # When a supervisor reads the shop's figures
    got = shop_metrics(world.supervisor_a, world.shop_a2.id, now=NOW)
    # Then the window is 1 Oct - 29 Nov, London days
    assert (got.window.start, got.window.end) == (date(2026, 10, 1), date(2026, 11, 29))
    assert len(got.series) == 60
    chat = got.figures.chat
    # 8 requests inside (oct1, late, three, robot x2, never, young, last), the young one not
    # counted yet: 7; within 24 h: oct1 (600), three (3600), robot (60), last (7200) = 4
    assert (chat.requests, chat.pending, chat.counted) == (8, 1, 7)
    assert chat.within_24h == 4
    assert round(chat.share_within_24h, 4) == 0.5714
    # answered: 600 + 108000 + 3600 + 60 + 93600 + 7200 = 213060 s over 6, two by a robot
    assert (chat.answered, chat.automated, chat.seconds_sum) == (6, 2, 213060)
    assert chat.average_seconds == 35510.0
    # late: the 30-hour one, the 26-hour one, the one never answered
    assert chat.late == 3
    # The daily series: 1 Oct has the robot's 600 s; 5 Nov its two requests, one within
    series = dict(got.series)
    assert (series[date(2026, 10, 1)].chat.requests, series[date(2026, 10, 1)].chat.within_24h) == (
        1,
        1,
    )
    assert (series[date(2026, 11, 5)].chat.requests, series[date(2026, 11, 5)].chat.within_24h) == (
        2,
        1,
    )
    assert series[date(2026, 9, 30) + timedelta(days=1)].chat.seconds_sum == 600
    # 29 Nov: the young one waits (not counted), the last one answered within
    last = series[date(2026, 11, 29)].chat
    assert (last.requests, last.pending, last.counted, last.within_24h) == (2, 1, 1, 1)
    # After-sales: none in this shop
    assert got.figures.after_sales.counted == 0
    assert got.figures.after_sales.share_within_24h is None


def seed_cases(shop) -> None:
    """Kuala Lumpur (UTC+8, no daylight saving)."""
    ok = "AWAITING_BUYER_SHIP"  # approved: the buyer is to send the parcel back
    # 1 Oct 00:30 KL (30 Sep in UTC): inside; approved 2 h later (7200 s)
    case(shop, "k1", utc(2026, 9, 30, 16, 30), (ok, utc(2026, 9, 30, 18, 30)))
    # 30 Sep 23:30 KL: outside
    case(shop, "k2", utc(2026, 9, 30, 15, 30), (ok, utc(2026, 9, 30, 16, 30)))
    # 15 Oct: decided after 30 h (108000 s): late
    case(
        shop,
        "k3",
        utc(2026, 10, 15, 2, 0),
        ("REFUND_OR_RETURN_REQUEST_REJECT", utc(2026, 10, 16, 8, 0)),
    )
    # 10 Nov: decided exactly 24 h later (86400 s): within
    case(shop, "k4", utc(2026, 11, 10, 0, 0), (ok, utc(2026, 11, 11, 0, 0)))
    # 12 Nov: the buyer withdrew after an hour, no decision: not counted at all
    case(
        shop,
        "k5",
        utc(2026, 11, 12, 0, 0),
        ("RETURN_OR_REFUND_REQUEST_CANCEL", utc(2026, 11, 12, 1, 0)),
    )
    # 20 Nov: still waiting at NOW: counted, late
    case(shop, "k6", utc(2026, 11, 20, 0, 0))
    # 29 Nov 22:00 KL: waiting 22 h: not counted yet
    case(shop, "k7", utc(2026, 11, 29, 14, 0))
    # 30 Nov 00:30 KL: today, outside
    case(shop, "k8", utc(2026, 11, 29, 16, 30))
    # 1 Nov: approved in 30 min (1800 s)
    case(
        shop,
        "k9",
        utc(2026, 11, 1, 0, 0),
        ("RETURN_OR_REFUND_REQUEST_SUCCESS", utc(2026, 11, 1, 0, 30)),
    )


def test_after_sales_over_60_days_in_kuala_lumpur(world):
    # Given a Kuala Lumpur shop's return requests over three months
    seed_cases(world.shop_a3)
    # When its agent reads the shop's figures
    got = shop_metrics(world.agent_a2, world.shop_a3.id, now=NOW)
    assert (got.window.start, got.window.end) == (date(2026, 10, 1), date(2026, 11, 29))
    sales = got.figures.after_sales
    # inside: k1, k3, k4, k6, k7, k9 (k5 withdrawn: not counted); k7 is 22 h old: 5 counted
    assert (sales.requests, sales.pending, sales.counted) == (6, 1, 5)
    # within 24 h: k1 (7200), k4 (86400, the edge is within), k9 (1800)
    assert sales.within_24h == 3
    assert sales.share_within_24h == 0.6
    # answered: 7200 + 108000 + 86400 + 1800 = 203400 s over 4
    assert (sales.answered, sales.seconds_sum) == (4, 203400)
    assert sales.average_seconds == 50850.0
    # p90 of 4 answers: the 4th fastest (ceil 3.6), 108000 s
    assert sales.p90_seconds == 108000
    # late: k3 answered after 30 h and k6 still waiting
    assert sales.late == 2
    assert got.figures.chat.counted == 0


def test_the_same_history_replayed_counts_once(world):
    # Given the history stored once, then every message and case delivered again
    seed_chats(world.shop_a2)
    seed_cases(world.shop_a3)
    seed_chats(world.shop_a2)
    seed_cases(world.shop_a3)
    # Then the figures are those of one history
    chat = shop_metrics(world.supervisor_a, world.shop_a2.id, now=NOW).figures.chat
    sales = shop_metrics(world.supervisor_a, world.shop_a3.id, now=NOW).figures.after_sales
    assert (chat.requests, chat.within_24h, chat.seconds_sum) == (8, 4, 213060)
    assert (sales.requests, sales.within_24h, sales.seconds_sum) == (6, 3, 203400)
