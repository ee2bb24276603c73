"""After-sales case webhooks processed per second against message webhooks, in the same run
(issue 13).

    .venv/bin/python -m bench.case_ingestion [--events 1000] [--drain-limit 300]

Services mode on a throw-away database (``scrm_bench_case_ingestion``), the TikTok Shop
simulator over HTTP in this process (``SimulatorServer``; ``TIKTOK_API_BASE`` points at it), one
shop account subscribed to NEW_MESSAGE (14) and RETURN_STATUS_CHANGE (12). Two sets of
``--events`` notifications taken from the simulator: buyer messages (two per conversation, as
``bench.ingestion``) and return requests (one new return each, each on its own order of a buyer
who never chatted, half of them refunds and half returns with a photo record). Each set in turn:
acked by ``uvicorn scrm.asgi:application`` (2 workers) with no worker running, then a real
``celery -A scrm worker --concurrency 2`` processes it through the real ingestion path (a
message: the conversation re-read from the platform, messages stored; a return: the return
re-read with its records, its order read through Get Order Detail, the buyer's customer found
or made by user_id, the case upserted and ``case.updated`` published). The figure is processed
events/s from the first to the last ``processed_at``; the ratio is cases/s over messages/s.
The platform calls each set cost are counted at the simulator (``Simulator.api_calls``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench import _common as c
from bench.ingestion import SHOP_ID, _ids, _load, _notifications, _signed_requests, _world

DB = "scrm_bench_case_ingestion"


def _return_notifications(sim, count: int) -> list[bytes]:
    """``count`` RETURN_STATUS_CHANGE bodies, each a new return on a new order."""
    for i in range(count):
        sim.return_request(
            SHOP_ID,
            buyer_user_id=f"case-buyer-{i // 2}",
            order_id=f"5779{i:014d}",
            reason_text="The item arrived damaged.",
            return_type="REFUND" if i % 2 else "RETURN_AND_REFUND",
            evidence=[] if i % 2 else ["damaged-item"],
        )
    with sim.lock:
        batch, sim.outbox = sim.outbox, []
    bodies = [n.body for n in batch if b'"type":12' in n.body.replace(b" ", b"")]
    if len(bodies) != count:
        raise RuntimeError(
            f"expected {count} RETURN_STATUS_CHANGE notifications, got {len(bodies)}"
        )
    return bodies


def _drain(ids: list[str], limit: float) -> dict:
    """Wait (at most ``limit`` s) until every stored event of ``ids`` is final."""
    from django.db import connection

    start = time.monotonic()
    row: tuple = (0, 0, 0, 0, None, None)
    while time.monotonic() - start < limit:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*),"
                " count(*) FILTER (WHERE status IN ('processed','ignored','failed')),"
                " count(*) FILTER (WHERE status = 'processed'),"
                " count(*) FILTER (WHERE status IN ('ignored','failed')),"
                " min(processed_at), max(processed_at)"
                " FROM inbox_webhookevent WHERE notification_id = ANY(%s)",
                [ids],
            )
            row = cur.fetchone()
        if row[0] and row[1] >= row[0]:
            break
        time.sleep(0.5)
    stored, done, processed, other, first, last = row
    span = (last - first).total_seconds() if first and last else 0.0
    return {
        "stored": stored,
        "done": done,
        "processed": processed,
        "not_processed": other,
        "span": span,
        "wall": time.monotonic() - start,
        "rate": processed / span if span > 0 else float("nan"),
    }


def _worker_args() -> list[str]:
    return [
        os.path.join(os.path.dirname(c.PYTHON), "celery"),
        *("-A", "scrm", "worker", "--concurrency", "2", "--pool", "prefork"),
        *("--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]


def _counts() -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM inbox_message),"
            " (SELECT count(*) FROM inbox_conversation),"
            " (SELECT count(*) FROM inbox_aftersalescase),"
            " (SELECT count(*) FROM inbox_aftersalescase WHERE stage = 'needs_decision'),"
            " (SELECT count(*) FROM inbox_order), (SELECT count(*) FROM inbox_customer)"
        )
        names = ("messages", "conversations", "cases", "needing a decision", "orders", "customers")
        return dict(zip(names, cur.fetchone(), strict=True))


def run(*, events: int = 1000, drain_limit: float = 300.0) -> dict:
    c.database_create(DB)
    c.setup_django(DB)
    c.migrate()
    c.redis_flush()
    logs = Path(tempfile.mkdtemp(prefix="scrm-bench-cases-"))
    from inbox.platforms.tiktok_shop.simulator import SimulatorServer

    results: dict = {}
    server = None
    try:
        _shop, sim = _world("")
        sim.subscribe(SHOP_ID, "RETURN_STATUS_CHANGE", "http://127.0.0.1:9/unused")
        server = SimulatorServer(sim).start()
        sim.public_url = server.base_url
        sim_env = {"TIKTOK_API_BASE": server.base_url, "TIKTOK_AUTH_BASE": server.base_url}
        sets = {
            "messages (NEW_MESSAGE)": _notifications(sim, events, "msg"),
            "cases (RETURN_STATUS_CHANGE)": _return_notifications(sim, events),
        }
        env = c.child_env(DB, "shipped", sim_env)
        calls: dict[str, dict] = {}
        for name, bodies in sets.items():
            before = dict(sim.api_calls)
            c.redis_flush()
            with c.server_running(DB, workers=2, log=logs / "server.log", extra=sim_env) as port:
                acked = _load(port, _signed_requests(bodies), 32, 120.0)
            with c.subprocess_running(_worker_args(), env, logs / f"worker-{len(results)}.log"):
                drained = _drain(_ids(bodies), drain_limit)
            results[name] = {**drained, "acked": acked["ok"]}
            calls[name] = {
                route: n - before.get(route, 0)
                for route, n in sim.api_calls.items()
                if n > before.get(route, 0)
            }
        counts = _counts()
        rows = [
            [
                name,
                r["acked"],
                r["processed"],
                r["not_processed"],
                r["rate"],
                r["span"],
                r["wall"],
            ]
            for name, r in results.items()
        ]
        c.table(
            f"Webhook processing by a celery worker (concurrency 2), {events} events a set "
            f"({c.machine()})",
            [
                "set",
                "acked",
                "processed",
                "ignored/failed",
                "processed/s (first→last)",
                "span s",
                "wall s (incl. worker start)",
            ],
            rows,
        )
        msg, case = (results[k]["rate"] for k in sets)
        c.table(
            "Cases against messages (same run)",
            ["figure", "value"],
            [
                ["cases/s ÷ messages/s", f"{case / msg:.2f}"],
                *[[k, v] for k, v in counts.items()],
            ],
        )
        c.table(
            "Platform calls the processing made (the simulator's count), per event",
            ["set", "call", "calls", "per event"],
            [
                [name, f"{method} {route}", n, f"{n / events:.2f}"]
                for name, by_route in calls.items()
                for (method, route), n in sorted(by_route.items(), key=lambda kv: -kv[1])
            ],
        )
        print(f"(logs in {logs})")
    finally:
        if server is not None:
            server.stop()
        c.redis_flush()
        c.database_drop(DB)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--drain-limit", type=float, default=300.0)
    args = parser.parse_args(argv)
    run(events=max(10, min(args.events, 10000)), drain_limit=args.drain_limit)


if __name__ == "__main__":
    main()
