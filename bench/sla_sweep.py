"""The SLA sweep over 1M open deadlines on PostgreSQL (issue 14): one sweep when few are due
(target ≤ 50 ms), and the sweeps that clear 10,000 falling due at once.

``.venv/bin/python -m bench.sla_sweep [--deadlines 1000000] [--burst 10000]``

Seeded with COPY on a superuser connection (foreign-key triggers off for that session):
conversations of ten shops (half assigned), two open deadlines each (first reply, same day)
due over the next three days, so ``next_alert_at`` is ahead for all but the few made due. The
sweep runs as the worker runs it (services mode, the bench role, events pushed to Redis);
the alerts it records are real rows, receipts and ``sla.alert`` events. Prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench import _common as c

if TYPE_CHECKING:
    from monitoring.sla.sweep import SweepResult

DB_NAME = "scrm_bench_sla_sweep"
SHOPS = 10
FEW_DUE = 20
RUNS = 7


def world() -> dict:
    """The organisation, its shops (assigning manually), an agent per shop, a supervisor and
    one buyer (encrypted name, as ingestion stores it)."""
    from django.contrib.auth import get_user_model

    from inbox.models import Member, Organisation, ShopAccount, ShopMembership
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import customer_upsert

    org = Organisation.objects.create(name="Bench", slug="bench")
    User = get_user_model()
    shops, agents = [], []
    for i in range(SHOPS):
        shop = ShopAccount.objects.create(
            organisation=org,
            platform="tiktok_shop",
            platform_shop_id=f"75{i:05d}",
            name=f"Shop {i}",
            region="US",
            credentials={"app_key": "k", "app_secret": "s"},
        )
        agent = User.objects.create_user(f"agent{i}")
        Member.objects.create(user=agent, organisation=org, role="agent")
        ShopMembership.objects.create(user=agent, shop_account=shop)
        shops.append(shop.id)
        agents.append(agent.id)
    supervisor = User.objects.create_user("supervisor")
    Member.objects.create(user=supervisor, organisation=org, role="supervisor")
    buyer = Participant(role="BUYER", im_user_id="im1", user_id="u1", nickname="Buyer")
    customer = customer_upsert(organisation_id=org.id, platform="tiktok_shop", buyer=buyer)
    return {"org": org.id, "shops": shops, "agents": agents, "customer": customer.id}


def _admin(db_name: str):
    import psycopg

    base = c.PG_ADMIN_URL.rsplit("/", 1)[0]
    return psycopg.connect(f"{base}/{db_name}", autocommit=True)


CONVERSATION_COLUMNS = (
    "organisation_id, shop_account_id, customer_id, platform_conversation_id, status, priority, "
    "assignee_id, unread_count, last_message_at, last_message_preview, last_buyer_message_at, "
    "waiting_since, queue_key, sla_due_at, snoozed_until, can_send_message, created_at, updated_at"
)
DEADLINE_COLUMNS = (
    "organisation_id, shop_account_id, kind, conversation_id, case_id, started_at, due_at, "
    "next_alert_at, state, closed_at, rule, created_at"
)


def _next_alert_at(due: datetime, now: datetime) -> datetime:
    for minutes in (240, 60):
        if due - timedelta(minutes=minutes) > now:
            return due - timedelta(minutes=minutes)
    return due


def seed(w: dict, n_deadlines: int, now: datetime) -> dict[str, float]:
    """``n_deadlines / 2`` waiting conversations with two open deadlines each, by COPY."""
    from django.db import connections

    connections.close_all()
    rnd = random.Random(14)
    n_conv = n_deadlines // 2
    steps = {}
    with _admin(DB_NAME) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET synchronous_commit = off")
        t0 = time.perf_counter()
        copy_sql = f"COPY inbox_conversation ({CONVERSATION_COLUMNS}) FROM STDIN"
        with cur.copy(copy_sql) as copy:
            for i in range(n_conv):
                shop = i % SHOPS
                assignee = w["agents"][shop] if i % 2 else None
                waited = now - timedelta(minutes=rnd.randrange(1, 600))
                due = now + timedelta(minutes=rnd.randrange(120, 3 * 24 * 60))
                copy.write_row(
                    (
                        w["org"],
                        w["shops"][shop],
                        w["customer"],
                        f"c{i}",
                        "open",
                        1,
                        assignee,
                        1,
                        waited,
                        "",
                        waited,
                        waited,
                        waited,
                        due,
                        None,
                        True,
                        waited,
                        waited,
                    )
                )
        steps["conversations (COPY)"] = time.perf_counter() - t0
        cur.execute(
            "SELECT id, shop_account_id, waiting_since, sla_due_at FROM inbox_conversation "
            "ORDER BY id"
        )
        rows = cur.fetchall()
        t1 = time.perf_counter()
        rule = '{"minutes": 1440, "business_hours": false, "warnings": [240, 60]}'
        with cur.copy(f"COPY monitoring_deadline ({DEADLINE_COLUMNS}) FROM STDIN") as copy:
            for conv_id, shop_id, started, due in rows:
                for kind, kind_due in (
                    ("first_reply", due),
                    ("same_day", due + timedelta(hours=1)),
                ):
                    copy.write_row(
                        (
                            w["org"],
                            shop_id,
                            kind,
                            conv_id,
                            None,
                            started,
                            kind_due,
                            _next_alert_at(kind_due, now),
                            "open",
                            None,
                            rule,
                            started,
                        )
                    )
        steps["deadlines (COPY)"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        cur.execute("VACUUM ANALYZE inbox_conversation")
        cur.execute("VACUUM ANALYZE monitoring_deadline")
        steps["vacuum, analyze"] = time.perf_counter() - t2
    return steps


def make_due(ids: list[int], now: datetime) -> None:
    """These deadlines' 4 h warning has just passed (due in 2 h) and none is recorded yet."""
    with _admin(DB_NAME) as conn, conn.cursor() as cur:
        alerts = "SELECT id FROM monitoring_slaalert WHERE deadline_id = ANY(%s)"
        for table in ("monitoring_alertreceipt", "monitoring_alertdelivery"):
            cur.execute(f"DELETE FROM {table} WHERE alert_id IN ({alerts})", (ids,))  # noqa: S608
        cur.execute("DELETE FROM monitoring_slaalert WHERE deadline_id = ANY(%s)", (ids,))
        cur.execute(
            "UPDATE monitoring_deadline SET due_at = %s, next_alert_at = %s WHERE id = ANY(%s)",
            (now + timedelta(hours=2), now - timedelta(hours=2), ids),
        )


def timed_sweep(now: datetime, budget: float = 600.0) -> tuple[float, SweepResult]:
    from monitoring.sla.sweep import sla_sweep

    t0 = time.perf_counter()
    result = sla_sweep(now=now, budget_seconds=budget)
    return (time.perf_counter() - t0) * 1000, result


@contextlib.contextmanager
def memory_layer() -> Iterator[None]:
    """Events pushed to an in-memory channel layer while inside (the rows are the same)."""
    from channels.layers import channel_layers
    from django.conf import settings

    saved = settings.CHANNEL_LAYERS
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "scrm.channel_layer.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    try:
        yield
    finally:
        settings.CHANNEL_LAYERS = saved
        channel_layers.backends.clear()


def explain(now: datetime) -> list[str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM monitoring_deadline "
            "WHERE next_alert_at <= %s ORDER BY next_alert_at LIMIT 500 FOR UPDATE SKIP LOCKED",
            (now,),
        )
        return [row[0] for row in cur.fetchall()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadlines", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=10_000)
    args = parser.parse_args()
    c.database_create(DB_NAME)
    try:
        c.setup_django(DB_NAME)
        c.migrate()
        now = datetime.now(UTC)
        w = world()
        steps = seed(w, args.deadlines, now)
        print(
            f"seeded {args.deadlines:,} open deadlines: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        )
        run(args, now)
    finally:
        c.database_drop(DB_NAME)
    return 0


def run(args: argparse.Namespace, now: datetime) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM monitoring_deadline")
        low, high = cur.fetchone()
    rnd = random.Random(1)
    # Nothing due: the index probe alone
    empty = [timed_sweep(now)[0] for _ in range(RUNS)]
    # A few due (the steady state: a handful of thresholds each minute)
    few = []
    for _ in range(RUNS):
        make_due(rnd.sample(range(low, high + 1), FEW_DUE), now)
        ms, result = timed_sweep(now)
        assert result.sent == FEW_DUE, result
        few.append(ms)
    # The same with no Redis behind the events (a layer in memory): the database's share
    with memory_layer():
        few_db = []
        for _ in range(RUNS):
            make_due(rnd.sample(range(low, high + 1), FEW_DUE), now)
            few_db.append(timed_sweep(now)[0])
    print(f"sweep, nothing due:   median {statistics.median(empty):6.1f} ms, max {max(empty):.1f}")
    print(
        f"sweep, {FEW_DUE} due:        median {statistics.median(few):6.1f} ms, max {max(few):.1f}"
    )
    print(
        f"  of which the database: median {statistics.median(few_db):6.1f} ms "
        "(the same sweeps with the events pushed to an in-memory layer, not Redis)"
    )
    for line in explain(now):
        print("   ", line)
    # A burst: many fall due at once; sweeps follow one another (as beat sends them) until
    # every alert is out
    make_due(rnd.sample(range(low, high + 1), args.burst), now)
    total_ms, sweeps, batches, sent = 0.0, 0, 0, 0
    while True:
        ms, result = timed_sweep(now, budget=45.0)
        if not result.recorded:
            break
        total_ms, sweeps = total_ms + ms, sweeps + 1
        batches, sent = batches + result.batches, sent + result.sent
    print(
        f"sweep, {args.burst:,} due at once: {total_ms / 1000:.1f} s in {sweeps} sweeps, "
        f"{batches} batches of 500 ({sent / (total_ms / 1000):,.0f} alerts/s, "
        f"{total_ms / max(batches, 1):.0f} ms a batch); told {sent:,}"
    )
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM monitoring_alertreceipt")
        receipts = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM inbox_inboxevent WHERE type = 'sla.alert'")
        events = cur.fetchone()[0]
    print(f"  receipts {receipts:,}, sla.alert events {events:,} (all runs)")
    print(f"  next sweep: {timed_sweep(now)[0]:.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
