"""The SLA sweep over 1M open deadlines on PostgreSQL (issue 14): one sweep when few are due
(target ≤ 50 ms), and the sweeps that clear 10,000 falling due at once.

``.venv/bin/python -m bench.sla_sweep [--deadlines 1000000] [--burst 10000] [--keep]
[--baseline REV] [--profile]``

``--keep`` leaves the seeded database in place and reuses it on the next run (same size: no
seeding; the sweeps run at the seeding's ``now``, kept in a table of the bench's own).
``--baseline REV`` loads ``monitoring/sla/sweep.py``, ``alerts.py`` and ``events_publish`` as
they were at a git revision into this process and times them interleaved with the working
tree's, sweep for sweep, on the same database: the ratio is what a change did, whatever the
machine's load.

Seeded with COPY on a superuser connection (foreign-key triggers off for that session):
conversations of ten shops (half assigned), two open deadlines each (first reply, same day)
due over the next three days, so ``next_alert_at`` is ahead for all but the few made due. The
sweep runs as the worker runs it (services mode, the bench role, events pushed to Redis);
the alerts it records are real rows, receipts and ``sla.alert`` events. Prints figures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import cProfile
import importlib
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench import _common as c

if TYPE_CHECKING:
    from monitoring.sla.sweep import SweepResult

DB_NAME = "scrm_bench_sla_sweep"
SHOPS = 10
FEW_DUE = 20
RUNS = 7
_db = [DB_NAME]  # the database in use (--db)


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
    "waiting_since, queue_key, sla_due_at, snoozed_until, can_send_message, created_at, "
    "updated_at, row_uid"
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


def seed(w: dict, n_deadlines: int, now: datetime, db_name: str = DB_NAME) -> dict[str, float]:
    """``n_deadlines / 2`` waiting conversations with two open deadlines each, by COPY."""
    from django.db import connections

    connections.close_all()
    rnd = random.Random(14)
    n_conv = n_deadlines // 2
    steps = {}
    with _admin(db_name) as conn, conn.cursor() as cur:
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
                        c.BENCH_ROW_UID,
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
    with _admin(_db[0]) as conn, conn.cursor() as cur:
        alerts = "SELECT id FROM monitoring_slaalert WHERE deadline_id = ANY(%s)"
        for table in ("monitoring_alertreceipt", "monitoring_alertdelivery"):
            cur.execute(f"DELETE FROM {table} WHERE alert_id IN ({alerts})", (ids,))  # noqa: S608
        cur.execute("DELETE FROM monitoring_slaalert WHERE deadline_id = ANY(%s)", (ids,))
        cur.execute(
            "UPDATE monitoring_deadline SET due_at = %s, next_alert_at = %s WHERE id = ANY(%s)",
            (now + timedelta(hours=2), now - timedelta(hours=2), ids),
        )


Sweep = Callable[..., "SweepResult"]


def current_sweep() -> Sweep:
    from monitoring.sla.sweep import sla_sweep

    return sla_sweep


def baseline_sweep(rev: str) -> Sweep:
    """``sla_sweep`` as it was at ``rev`` (its sweep.py, alerts.py and the publishing
    functions of scrm/events.py; the rest, the event kinds among it, is today's), loaded under
    other module names beside the working tree's."""

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=c.ROOT, check=True, capture_output=True, text=True
        ).stdout

    def load(name: str, path: str, replace: tuple[str, str] | None = None) -> types.ModuleType:
        source = show(path)
        if replace:
            source = source.replace(*replace)
        module = types.ModuleType(name)
        module.__file__ = f"{rev}:{path}"
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
        return module

    events = types.ModuleType("bench_baseline_events")
    today = {k: v for k, v in vars(importlib.import_module("scrm.events")).items()}
    events.__dict__.update({k: v for k, v in today.items() if not k.startswith("__")})
    sys.modules["bench_baseline_events"] = events  # today's kinds, the old functions
    tree = ast.parse(show("scrm/events.py"))
    for node in tree.body:  # the publishing functions as they were at rev
        if isinstance(node, ast.FunctionDef) and node.name in ("events_publish", "_push_many"):
            exec(compile(ast.Module([node], []), f"{rev}:scrm/events.py", "exec"), vars(events))  # noqa: S102
    load(
        "bench_baseline_alerts",
        "monitoring/sla/alerts.py",
        ("from scrm.events import", "from bench_baseline_events import"),
    )
    sweep = load(
        "bench_baseline_sweep",
        "monitoring/sla/sweep.py",
        ("from monitoring.sla.alerts import", "from bench_baseline_alerts import"),
    )
    return sweep.sla_sweep


def timed_sweep(
    now: datetime, budget: float = 600.0, sweep: Sweep | None = None
) -> tuple[float, SweepResult]:
    sweep = sweep or current_sweep()
    t0 = time.perf_counter()
    result = sweep(now=now, budget_seconds=budget)
    return (time.perf_counter() - t0) * 1000, result


def counted_sweep(now: datetime, sweep: Sweep) -> int:
    """How many queries one sweep makes (an untimed run: capturing costs time)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        sweep(now=now, budget_seconds=600.0)
    return len(queries)


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


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def seeded(db_name: str) -> tuple[int, datetime] | None:
    """The kept database's size and seeding time, if it holds a finished seeding."""
    import psycopg

    try:
        with _admin(db_name) as conn:
            row = conn.execute("SELECT deadlines, seeded_at FROM bench_seed").fetchone()
    except psycopg.Error:
        return None
    return (row[0], row[1]) if row else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadlines", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=10_000, help="0: no burst")
    parser.add_argument("--db", default=DB_NAME, help="a name starting scrm_bench")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the seeded db")
    parser.add_argument("--baseline", metavar="REV", help="also time sweep.py/alerts.py at REV")
    parser.add_argument("--profile", action="store_true", help="cProfile one 20-due sweep")
    args = parser.parse_args()
    _db[0] = args.db
    kept = seeded(args.db) if args.keep else None
    if kept and kept[0] == args.deadlines:
        c.setup_django(args.db)
        now = kept[1]
        print(f"reusing {args.db}: {kept[0]:,} open deadlines seeded at {now:%H:%M:%S} UTC")
        with _admin(args.db) as conn:  # earlier runs' updates leave dead index entries behind
            for table in ("monitoring_deadline", "monitoring_slaalert", "inbox_inboxevent"):
                conn.execute(f"VACUUM ANALYZE {table}")
    else:
        c.database_create(args.db)
        c.setup_django(args.db)
        c.migrate()
        now = datetime.now(UTC)
        w = world()
        steps = seed(w, args.deadlines, now, args.db)
        with _admin(args.db) as conn:
            conn.execute("CREATE TABLE bench_seed (deadlines int, seeded_at timestamptz)")
            conn.execute("INSERT INTO bench_seed VALUES (%s, %s)", (args.deadlines, now))
        print(
            f"seeded {args.deadlines:,} open deadlines: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        )
    try:
        run(args, now)
    finally:
        if not args.keep:
            c.database_drop(args.db)
    return 0


def _sample(n: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM monitoring_deadline")
        low, high = cur.fetchone()
    return _rnd.sample(range(low, high + 1), n)


_rnd = random.Random(1)


def few_due(now: datetime, sweeps: dict[str, Sweep]) -> dict[str, list[float]]:
    """``RUNS`` sweeps of each with ``FEW_DUE`` deadlines just past their warning, interleaved
    (a, b, a, b, ...) so both see the same load."""
    times: dict[str, list[float]] = {name: [] for name in sweeps}
    for _ in range(RUNS):
        for name, sweep in sweeps.items():
            make_due(_sample(FEW_DUE), now)
            ms, result = timed_sweep(now, sweep=sweep)
            assert result.sent == FEW_DUE, (name, result)
            times[name].append(ms)
    return times


def run(args: argparse.Namespace, now: datetime) -> None:
    sweeps = {"HEAD" if not args.baseline else "working tree": current_sweep()}
    if args.baseline:
        sweeps[args.baseline] = baseline_sweep(args.baseline)
    print(f"load average before: {_load()}")
    # Nothing due: the index probe alone
    empty = [timed_sweep(now)[0] for _ in range(RUNS)]
    print(f"sweep, nothing due:   median {statistics.median(empty):6.1f} ms, max {max(empty):.1f}")
    for name, sweep in sweeps.items():
        make_due(_sample(FEW_DUE), now)
        print(f"queries of a {FEW_DUE}-due sweep ({name}): {counted_sweep(now, sweep)}")
    # A few due (the steady state: a handful of thresholds each minute)
    few = few_due(now, sweeps)
    with memory_layer():  # no Redis behind the events: the database's and Python's share
        few_db = few_due(now, sweeps)
    first = next(iter(sweeps))
    for name in sweeps:
        ratio = statistics.median(few[first]) / statistics.median(few[name])
        print(
            f"sweep, {FEW_DUE} due ({name}): median {statistics.median(few[name]):6.1f} ms, "
            f"max {max(few[name]):.1f}; events in memory: median "
            f"{statistics.median(few_db[name]):6.1f} ms"
            + (f"; {first} / {name}: {ratio:.2f}" if name != first else "")
        )
    print(f"load average after the {FEW_DUE}-due runs: {_load()}")
    if args.profile:
        make_due(_sample(FEW_DUE), now)
        profile = cProfile.Profile()
        profile.runcall(current_sweep(), now=now)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    for line in explain(now):
        print("   ", line)
    for name, sweep in sweeps.items() if args.burst else ():
        burst(args.burst, now, name, sweep)
    print(f"load average after: {_load()}")


def burst(n: int, now: datetime, name: str, sweep: Sweep) -> None:
    """Many fall due at once; sweeps follow one another (as beat sends them) until every
    alert is out."""
    from django.db import connection

    make_due(_sample(n), now)
    total_ms, sweeps, batches, sent = 0.0, 0, 0, 0
    while True:
        ms, result = timed_sweep(now, budget=45.0, sweep=sweep)
        if not result.recorded:
            break
        total_ms, sweeps = total_ms + ms, sweeps + 1
        batches, sent = batches + result.batches, sent + result.sent
    print(
        f"sweep, {n:,} due at once ({name}): {total_ms / 1000:.1f} s in {sweeps} sweeps, "
        f"{batches} batches of 500 ({sent / (total_ms / 1000):,.0f} alerts/s, "
        f"{total_ms / max(batches, 1):.0f} ms a batch); told {sent:,}; load {_load()}"
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
