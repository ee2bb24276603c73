"""Where a processed webhook event's time goes (issue 18): the worker's processing, in process.

    .venv/bin/python -m bench.ingestion_profile [--events 600] [--per-conversation 2]
        [--batch 50] [--existing] [--profile] [--top 30] [--trace 'SELECT inbox_message']

Services mode on a throw-away database (``scrm_bench_ingestion_profile``) and the benchmarks'
Redis db. The TikTok Shop simulator serves its API over HTTP from a thread of this process (as
in ``bench.ingestion``). ``--events`` signed NEW_MESSAGE notifications (``--per-conversation``
buyer messages per conversation) are stored through ``webhook_receive`` (the ack path); then
this process runs ``process_webhook_events`` on them in batches of ``--batch``, as a Celery
worker does with the ack path's batches: each conversation read from the simulator, its
messages stored with everything the earlier issues add (encryption, search tokens, deadlines,
inbound screening, metrics, rules, auto-assignment, the change feed and the socket push).
``--existing``: the measured events follow up the warm-up's conversations (the steady state),
else each opens a conversation of a new buyer.

Prints events/s (wall and this process's CPU, the simulator's share included: it runs in a
thread here), SQL statements per event, and with ``--profile`` the functions where the time
went (cProfile, cumulative and own time; ``BENCH_PROFILE_OUT=<file>`` also saves the stats for
``pstats``, e.g. sorted by call count); ``--trace`` names where statements of one shape come
from. Run it twice, one build against another, to see what
a change bought; the worker figure with Celery is ``bench.ingestion``'s processing step.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import re
import time
import traceback
from pathlib import Path

from bench import _common as c
from tests.statements import statements_in

DB = "scrm_bench_ingestion_profile"
ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--per-conversation", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--existing",
        action="store_true",
        help="the measured events follow up conversations the warm-up stored (the steady "
        "state) instead of opening new ones",
    )
    parser.add_argument(
        "--trace",
        default="",
        help="print where statements of this shape come from, e.g. 'SELECT inbox_message'",
    )
    args = parser.parse_args(argv)
    c.in_database(DB, lambda: run(args))
    return 0


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from bench.ingestion import _notifications, _received, _simulator_served, _world
    from inbox.models import Message, WebhookEvent
    from inbox.tasks import process_webhook_events

    _shop, sim = _world("")
    with _simulator_served(sim):
        warm = args.events if args.existing else max(args.batch, 20)
        rounds = [("warm-up", warm), ("measured", args.events)]
        for label, count in rounds:
            tag = "buyers" if args.existing else label
            bodies = _notifications(sim, count, tag, per_conversation=args.per_conversation)
            ids = _received(bodies)
            queries = QueryCounter(args.trace)
            profiler = cProfile.Profile() if args.profile and label == "measured" else None
            wall, cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(queries):
                if profiler is not None:
                    profiler.enable()
                for start in range(0, len(ids), args.batch):
                    process_webhook_events(ids[start : start + args.batch])
                if profiler is not None:
                    profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            processed = WebhookEvent.objects.filter(id__in=ids, status="processed").count()
            if label == "warm-up":
                continue
            stored = Message.objects.count()
            kind = "existing" if args.existing else "new"
            c.table(
                f"Processing {count:,} NEW_MESSAGE events in process, batches of {args.batch}, "
                f"{args.per_conversation} a conversation, {kind} conversations",
                ["events", "processed", "wall s", "events/s", "CPU s", "events/s (CPU)",
                 "round trips/event", "statements/event"],
                [[count, processed, wall, processed / wall, cpu, processed / cpu,
                  queries.count / max(processed, 1), queries.statements / max(processed, 1)]],
            )  # fmt: skip
            print(f"messages in the database: {stored:,}")
            c.table(
                "SQL statements per event, by verb and first table (a round trip may carry "
                "several: scrm.db.writes_deferred)",
                ["statement", "per event", "total"],
                [[shape, n / max(processed, 1), n] for shape, n in queries.shapes.most_common()],
            )
            if queries.sites:
                c.table(
                    f"Where '{args.trace}' statements come from",
                    ["call site (innermost first)", "per event"],
                    [[site, n / max(processed, 1)] for site, n in queries.sites.most_common()],
                )
            if processed != count:
                raise SystemExit(f"{count - processed} events not processed")
            if profiler is not None:
                _print_profile(profiler, args.top)
                if os.environ.get("BENCH_PROFILE_OUT"):
                    profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])


class QueryCounter:
    """A ``connection.execute_wrapper``: counts the round trips run through it and the
    statements they carry, and the statements by shape (the verb and the first table named)."""

    def __init__(self, trace: str = "") -> None:
        self.count = 0
        self.statements = 0
        self.shapes: collections.Counter[str] = collections.Counter()
        self.trace = trace
        self.sites: collections.Counter[str] = collections.Counter()

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        for statement in statements_in(sql):
            self.statements += 1
            shape = _shape(statement)
            self.shapes[shape] += 1
            if self.trace and shape.startswith(self.trace):
                self.sites[_call_site()] += 1
        return execute(sql, params, many, context)


def _call_site(depth: int = 3) -> str:
    """The innermost project frames that ran a statement (not Django's, not this file's)."""
    frames = [
        f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} {f.name}"
        for f in traceback.extract_stack()
        if f.filename.startswith(str(ROOT))
        and "/.venv/" not in f.filename
        and not f.filename.endswith("ingestion_profile.py")
    ]
    return " <- ".join(reversed(frames[-depth:]))


def _shape(sql: str) -> str:
    verb = sql.lstrip(" (").split(None, 1)[0].upper() if sql.strip(" (") else "?"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?([a-z_0-9]+)"?', sql, re.IGNORECASE)
    lock = " FOR UPDATE" if "FOR UPDATE" in sql.upper() else ""
    return f"{verb} {table.group(1) if table else ''}{lock}".strip()


def _print_profile(profiler: cProfile.Profile, top: int) -> None:
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        print(f"\n### cProfile by {order}\n")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])


if __name__ == "__main__":
    raise SystemExit(main())
