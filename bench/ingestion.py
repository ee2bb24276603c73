"""Signed webhook deliveries per second, end to end into PostgreSQL, and their processing.

    .venv/bin/python -m bench.ingestion [--requests 5000] [--concurrency 32] [--process 2000]

Services mode on a throw-away database (``scrm_bench_ingestion``) and Redis db 15
(``BENCH_REDIS_URL``):

1. ack: ``uvicorn scrm.asgi:application`` with 1 and with 2 workers, one shop account whose
   app key/secret sign NEW_MESSAGE (type 14) notifications, each with its own
   ``tts_notification_id`` (taken from the TikTok Shop simulator, which holds the messages they
   refer to). Two loads:
   - closed loop, the capacity: ``--concurrency`` keep-alive connections post back to back;
     figures are acks/s and latency (which, by Little's law, is concurrency / rate);
   - open loop, the target: deliveries due at a steady ``--rate`` a second for ``--seconds``,
     whether or not earlier ones were answered, as a platform sends them; latency counts from
     when each was due (waiting for a free connection included), on up to 64 connections.
   Every notification must be stored exactly once in ``inbox_webhookevent``. Baseline in the
   same run: the closed loop on ``/healthz`` (one ``SELECT 1`` through Django's whole request
   path), so the ratio compares verify + store with Django's own floor.
2. processing: ``--process`` further notifications are acked with no worker running, then a
   real ``celery -A scrm worker --concurrency 2`` (``--worker-concurrency``) fetches each
   message from the simulator (``SimulatorServer`` in this process; ``TIKTOK_API_BASE`` points
   at it) and stores it; the figure is processed events/s until the queue drains (bounded by
   ``--drain-limit``).

Target (issue): >= 500 acks/s sustained, ack p99 <= 50 ms: judged on the open loop at 500/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import _common as c

DB = "scrm_bench_ingestion"
APP_KEY = "bench_app_key"
APP_SECRET = "bench_app_secret_0123456789"  # noqa: S105 - simulator only
SHOP_ID = "7499000000000000001"
TARGET_RATE = 500.0
VARIANTS = {
    "shipped": "as shipped (psycopg pool)",
    "conn0": "CONN_MAX_AGE=0",
    "pool": "psycopg pool (max 8)",
}
TARGET_P99_MS = 50.0


def _shop_id(n: int) -> str:
    """The benchmark's n-th shop's platform id (the first is ``SHOP_ID``)."""
    return SHOP_ID if n == 0 else f"{SHOP_ID[:-4]}{n + 1:04d}"


def _world(sim_base: str, shops: int = 1):
    """Organisation, ``shops`` shop accounts connected to the simulator; returns (the first
    shop, sim)."""
    from inbox.models import Organisation, ShopAccount
    from inbox.platforms.tiktok_shop.simulator import Simulator
    from tests.inbox.platform_world import granted_credentials

    sim = Simulator(auto_push=False)
    sim.add_app(APP_KEY, APP_SECRET)
    org = Organisation.objects.create(name="Bench", slug="bench")
    made = []
    for n in range(shops):
        shop_id = _shop_id(n)
        name = "Bench US" if n == 0 else f"Bench US {n + 1}"
        cipher = sim.add_shop(APP_KEY, shop_id=shop_id, name=name, region="US")
        credentials = granted_credentials(
            sim, app_key=APP_KEY, app_secret=APP_SECRET, shop_id=shop_id, cipher=cipher
        )
        sim.subscribe(shop_id, "NEW_MESSAGE", "http://127.0.0.1:9/unused")
        made.append(
            ShopAccount.objects.create(
                organisation=org,
                platform="tiktok_shop",
                platform_shop_id=shop_id,
                name=name,
                region="US",
                credentials=credentials.to_dict(),
            )
        )
    return made[0], sim


def _notifications(
    sim, count: int, tag: str, per_conversation: int = 2, shops: int = 1
) -> list[bytes]:
    """``count`` NEW_MESSAGE bodies, ``per_conversation`` buyer messages per conversation, the
    conversations dealt to ``shops`` shops in turn."""
    for i in range(count):
        sim.buyer_message(
            _shop_id((i // per_conversation) % shops),
            buyer_user_id=f"{tag}-buyer-{i // per_conversation}",
            nickname=f"Buyer {tag} {i // per_conversation}",
            text=f"Hello, where is my order? ({tag} {i})",
        )
    with sim.lock:
        batch, sim.outbox = sim.outbox, []
    bodies = [n.body for n in batch if b'"type":14' in n.body.replace(b" ", b"")]
    if len(bodies) != count:
        raise RuntimeError(f"expected {count} NEW_MESSAGE notifications, got {len(bodies)}")
    return bodies


def _received(bodies: list[bytes]) -> list[int]:
    """``bodies`` signed and stored in this process through the ack path (``webhook_receive``),
    its task messages drained (no worker consumes them here); returns the events' ids."""
    from inbox.platforms.tiktok_shop.signing import webhook_signature
    from inbox.services.webhooks import webhook_receive
    from inbox.tasks import webhook_batches_drain

    ids = [
        webhook_receive(
            platform="tiktok_shop",
            headers={"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)},
            body=body,
        ).event_id
        for body in bodies
    ]
    webhook_batches_drain()
    return ids


@contextlib.contextmanager
def _simulator_served(sim) -> Iterator[None]:
    """The simulator's API over HTTP from a thread of this process, this process's platform
    calls pointed at it for the block."""
    from django.conf import settings

    from inbox.platforms.tiktok_shop.simulator import SimulatorServer

    server = SimulatorServer(sim).start()
    settings.TIKTOK_API_BASE = server.base_url
    settings.TIKTOK_AUTH_BASE = server.base_url
    try:
        yield
    finally:
        server.stop()


def _signed_requests(bodies: list[bytes]) -> list[bytes]:
    from inbox.platforms.tiktok_shop.signing import webhook_signature

    return [
        c.raw_request(
            "POST",
            "/webhooks/tiktok/",
            {
                "Content-Type": "application/json",
                "Authorization": webhook_signature(APP_KEY, APP_SECRET, body),
            },
            body,
        )
        for body in bodies
    ]


def _stored(notification_ids: list[str]) -> tuple[int, int]:
    """(rows for these notifications, distinct notification ids among them)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT notification_id) FROM inbox_webhookevent "
            "WHERE notification_id = ANY(%s)",
            [notification_ids],
        )
        rows, distinct = cur.fetchone()
    return rows, distinct


def _ids(bodies: list[bytes]) -> list[str]:
    import json

    return [str(json.loads(b)["tts_notification_id"]) for b in bodies]


def _load(
    port: int, requests: list[bytes], concurrency: int, time_limit: float, rate: float = 0.0
) -> dict:
    if rate:
        load = c.http_load_rate(port, requests, rate=rate, time_limit=time_limit)
    else:
        load = c.http_load(port, requests, concurrency=concurrency, time_limit=time_limit)
    elapsed, lat, statuses = asyncio.run(load)
    ok = statuses.get(200, 0)
    return {
        "n": len(lat),
        "ok": ok,
        "rate": ok / elapsed,
        "p50": c.pct(lat, 50),
        "p95": c.pct(lat, 95),
        "p99": c.pct(lat, 99),
        "max": max(lat) if lat else float("nan"),
        "statuses": statuses,
    }


def _drain(process_ids: list[str], limit: float) -> dict:
    """Wait (at most ``limit`` s) until every stored event is processed; rate from
    processed_at."""
    from django.db import connection

    from bench.soak.procs import CpuMeter

    stored, _ = _stored(process_ids)
    start = time.monotonic()
    done = processed = 0
    cpu = CpuMeter()  # where the machine's time goes while the worker drains (by process role)
    cpu.take()
    while time.monotonic() - start < limit:
        cpu.take()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE status IN ('processed','ignored','failed')),"
                " count(*) FILTER (WHERE status = 'processed'),"
                " min(processed_at), max(processed_at)"
                " FROM inbox_webhookevent WHERE notification_id = ANY(%s)",
                [process_ids],
            )
            done, processed, first, last = cur.fetchone()
        if done >= stored:
            break
        time.sleep(0.5)
    cpu.take()
    wall = time.monotonic() - start
    span = (last - first).total_seconds() if first and last else float("nan")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT conversation_id) FROM inbox_message")
        messages, conversations = cur.fetchone()
    return {
        "stored": stored,
        "done": done,
        "processed": processed,
        "wall": wall,
        "rate": processed / span if span and span == span and span > 0 else float("nan"),
        "messages": messages,
        "conversations": conversations,
        "cpu": cpu.result(),
    }


def run(
    *,
    requests: int = 5000,
    concurrency: int = 32,
    process: int = 2000,
    time_limit: float = 60.0,
    drain_limit: float = 120.0,
    workers: tuple[int, ...] = (1, 2),
    variants: tuple[str, ...] = ("shipped",),
    rate: float = TARGET_RATE,
    seconds: float = 10.0,
    worker_concurrency: int = 2,
    shops: int = 1,
) -> dict:
    if "pool" in variants and not c.pool_available():
        print("psycopg_pool not importable: the 'pool' variant is skipped (see --help)")
        variants = tuple(v for v in variants if v != "pool")
    c.database_create(DB)
    c.setup_django(DB)
    c.migrate()
    c.redis_flush()
    logs = Path(tempfile.mkdtemp(prefix="scrm-bench-ingestion-"))
    from inbox.platforms.tiktok_shop.simulator import SimulatorServer

    results: dict = {"ack": {}, "healthz": {}}
    server = None
    try:
        _shop, sim = _world("", shops=shops)
        server = SimulatorServer(sim).start()
        sim_env = {"TIKTOK_API_BASE": server.base_url, "TIKTOK_AUTH_BASE": server.base_url}
        cases = [(v, w) for v in variants for w in workers]
        runs = {case: _notifications(sim, requests, f"{case[0]}{case[1]}") for case in cases}
        paced_count = int(rate * seconds)
        paced = {case: _notifications(sim, paced_count, f"r{case[0]}{case[1]}") for case in cases}
        proc_bodies = _notifications(sim, process, "proc", shops=shops)
        health = [c.raw_request("GET", "/healthz", {})] * requests
        rows, check = [], []
        for variant, w in cases:
            log = logs / f"server-{variant}-{w}.log"
            with c.server_running(DB, workers=w, log=log, variant=variant) as port:
                # Warm-up: connections, imports, the shop's first decrypt; not measured.
                asyncio.run(c.http_load(port, health[:200], concurrency=concurrency))
                h = _load(port, health, concurrency, time_limit)
                a = _load(port, _signed_requests(runs[variant, w]), concurrency, time_limit)
                time.sleep(1.0)  # let the closed loop's queued work settle
                o = _load(port, _signed_requests(paced[variant, w]), 0, time_limit, rate=rate)
            stored, distinct = _stored(_ids(runs[variant, w]) + _ids(paced[variant, w]))
            a["stored"], a["distinct"] = stored, distinct
            results["healthz"][variant, w], results["ack"][variant, w] = h, a
            results.setdefault("paced", {})[variant, w] = o
            label = f"{VARIANTS[variant]}, {w} worker{'s' if w > 1 else ''}"
            for name, r in (
                (f"/healthz (baseline), closed loop x{concurrency}", h),
                (f"webhook, closed loop x{concurrency}", a),
                (f"webhook, open loop {rate:g}/s", o),
            ):
                rows.append(
                    [
                        label,
                        name,
                        r["n"],
                        r["rate"],
                        r["p50"],
                        r["p95"],
                        r["p99"],
                        r["max"],
                        _statuses(r["statuses"]),
                    ]
                )
            prepared = len(runs[variant, w]) + len(paced[variant, w])
            acked = a["ok"] + o["ok"]
            # Every acked notification stored once; unacked ones (errors, time limit) not at all.
            ok_once = stored == distinct == acked
            met = (
                rate >= TARGET_RATE
                and o["rate"] >= TARGET_RATE * 0.99
                and o["p99"] <= TARGET_P99_MS
                and o["ok"] == o["n"] == len(paced[variant, w])
            )
            check.append(
                [
                    label,
                    f"{stored:,} rows / {distinct:,} distinct / {acked:,} acked"
                    f" / {prepared:,} prepared",
                    "yes" if ok_once else "NO",
                    f"{h['rate'] / a['rate']:.2f}x" if a["rate"] else "-",
                    "met" if met else "NOT met",
                ]
            )
        c.table(
            f"Webhook acks ({c.machine()}; 200/s counts 200s; open-loop latency from due time)",
            [
                "server",
                "endpoint",
                "requests",
                "200/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "HTTP status: count (0 = dropped)",
            ],
            rows,
        )
        c.table(
            "Stored exactly once; healthz/webhook closed-loop rates; target (open loop) >= 500/s"
            " and p99 <= 50 ms",
            [
                "server",
                "inbox_webhookevent",
                "acked = stored once",
                "healthz/webhook rate",
                "target",
            ],
            check,
        )

        # --- processing -----------------------------------------------------------------------
        c.redis_flush()  # drop the ack runs' queued tasks: only the processing set is worked
        proc_ids = _ids(proc_bodies)
        proc_variant = "shipped"
        log = logs / "server-proc.log"
        with c.server_running(DB, workers=2, log=log, extra=sim_env, variant=proc_variant) as port:
            acked = _load(port, _signed_requests(proc_bodies), concurrency, time_limit)
        worker_args = [
            os.path.join(os.path.dirname(c.PYTHON), "celery"),
            "-A",
            "scrm",
            "worker",
            "--concurrency",
            str(worker_concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        env = c.child_env(DB, "shipped", sim_env)
        with c.subprocess_running(worker_args, env, logs / "worker.log"):
            drained = _drain(proc_ids, drain_limit)
        results["process"] = {**drained, "acked": acked["ok"]}
        c.table(
            f"Processing by a celery worker (concurrency {worker_concurrency}, {shops} shop(s)): "
            "fetch from the "
            "simulator, store",
            [
                "events acked",
                "processed",
                "processed/s (first→last)",
                "wall s (incl. worker start)",
                "messages stored",
                "conversations",
            ],
            [
                [
                    acked["ok"],
                    drained["processed"],
                    drained["rate"],
                    drained["wall"],
                    drained["messages"],
                    drained["conversations"],
                ]
            ],
        )
        used = {k: v for k, v in drained["cpu"].items() if k != "wall s"}
        per_event = {k: 1000 * v / max(drained["processed"], 1) for k, v in used.items()}
        c.table(
            "Where the machine's CPU went while the worker drained (CPU ms an event, by process;"
            f" {drained['cpu']['wall s']:.1f} s sampled, 2 cores)",
            [*sorted(per_event), "all"],
            [[*(per_event[k] for k in sorted(per_event)), sum(per_event.values())]],
        )
        print(f"(logs in {logs})")
    finally:
        if server is not None:
            server.stop()
        c.redis_flush()
        c.database_drop(DB)
    return results


def _statuses(statuses: dict[int, int]) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=2,
        help="the processing worker's processes (the shipped default: one per core)",
    )
    parser.add_argument("--process", type=int, default=2000)
    parser.add_argument(
        "--shops",
        type=int,
        default=1,
        help="shop accounts the processing set's conversations are dealt to (the acks' runs "
        "stay on the first); 1 puts every insert's key-share lock on one shop's row",
    )
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--drain-limit", type=float, default=120.0)
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts, e.g. 1,2")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="open-loop deliveries/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="open-loop duration")
    parser.add_argument(
        "--variants",
        default="shipped",
        help="settings: shipped, conn0 (CONN_MAX_AGE=0), pool (psycopg pool; needs psycopg_pool "
        "importable, e.g. BENCH_EXTRA_PYTHONPATH=/tmp/pool after pip install --target /tmp/pool "
        "psycopg-pool)",
    )
    args = parser.parse_args(argv)
    run(
        requests=min(args.requests, 20000),
        concurrency=min(args.concurrency, 64),
        process=min(args.process, 10000),
        time_limit=min(args.time_limit, 60.0),
        drain_limit=min(args.drain_limit, 300.0),
        workers=tuple(int(w) for w in args.workers.split(",")),
        variants=tuple(v for v in args.variants.split(",") if v in VARIANTS),
        rate=min(args.rate, 5000.0),
        seconds=min(args.seconds, 60.0),
        worker_concurrency=max(1, min(args.worker_concurrency, 16)),
        shops=max(1, min(args.shops, 500)),
    )


if __name__ == "__main__":
    main()
