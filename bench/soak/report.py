"""The soak's counts (database, simulator) and its report; the checks set the exit status."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import redis

from bench import _common as c
from bench.soak.load import Run


# --- the database's counts ---------------------------------------------------------------------
def backlog_read() -> dict:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM inbox_webhookevent WHERE status = 'received'),"
            " (SELECT count(*) FROM inbox_webhookevent WHERE status = 'failed'),"
            " (SELECT count(*) FROM inbox_outboxaction WHERE state IN ('pending', 'sending')),"
            " (SELECT count(*) FROM inbox_outboxaction WHERE state = 'failed'),"
            " (SELECT count(*) FROM inbox_message WHERE direction = 'in')"
        )
        received, failed, open_actions, failed_actions, inbound = cur.fetchone()
    connection.close()
    broker = redis.Redis.from_url(c.REDIS_URL)
    try:
        # Tasks not yet taken, in each of the worker's queues
        queued = [
            raw for queue in settings.CELERY_TASK_QUEUES for raw in broker.lrange(queue.name, 0, -1)
        ]
    finally:
        broker.close()
    names: dict[str, int] = {}
    for raw in queued:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            name = json.loads(raw)["headers"]["task"].rsplit(".", 1)[-1]
            names[name] = names.get(name, 0) + 1
    return {
        "tasks queued": len(queued),
        "tasks queued by name": names,
        "webhooks unprocessed": received,
        "webhooks failed": failed,
        "outbox open": open_actions,
        "outbox failed": failed_actions,
        "inbound stored": inbound,
    }


def final_counts() -> dict:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        # One snapshot for every read: the workers may still be draining, and a message stored
        # between two reads would count as neither waiting nor stored (read one after the
        # other, the hour's report counted 45 "lost" that were processed during its own reads).
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("SELECT message_platform_id FROM inbox_webhookevent WHERE status = 'received'")
        waiting = {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT platform_message_id, count(*) FROM inbox_message WHERE direction = 'in'"
            " GROUP BY platform_message_id"
        )
        inbound = dict(cur.fetchall())
        cur.execute(
            "SELECT platform_message_id, count(*) FROM inbox_message WHERE direction = 'out'"
            " AND platform_message_id IS NOT NULL GROUP BY platform_message_id"
        )
        outbound = dict(cur.fetchall())
        cur.execute(
            "SELECT m.idempotency_key, m.delivery_state FROM inbox_message m"
            " WHERE m.direction = 'out' AND m.idempotency_key LIKE %s",
            ["soak-r%"],
        )
        reply_states = dict(cur.fetchall())
        cur.execute("SELECT kind, count(*) FROM monitoring_slaalert GROUP BY kind")
        alerts = dict(cur.fetchall())
    connection.close()
    return {
        "inbound": inbound,
        "outbound": outbound,
        "reply_states": reply_states,
        "waiting": waiting,
        "alerts": alerts,
    }


def sent_replies(sim) -> dict[str, list[tuple[str, float]]]:
    """marker -> [(platform message id, wall time the simulator recorded it)] for each send."""
    out: dict[str, list[tuple[str, float]]] = {}
    with sim.lock:
        for sent in sim.sent:
            text = str((sent.get("content") or {}).get("content", ""))
            if "(soak-r" not in text:
                continue
            marker = text.rsplit("(", 1)[1].rstrip(")")
            conversation = sim.conversations[sent["conversation_id"]]
            index = next(m.index for m in conversation.messages if m.id == sent["message_id"])
            out.setdefault(marker, []).append((sent["message_id"], int(index) // 1000 / 1000))
    return out


async def drain_wait(run: Run, sim, limit: float) -> tuple[float, dict]:
    start = time.monotonic()
    while True:
        backlog = await asyncio.to_thread(backlog_read)
        posted_ok = {m for m, (_t, status, _ms) in run.replies.items() if status in (200, 201)}
        delivered = set(sent_replies(sim))
        done = (
            backlog["inbound stored"] >= len(run.posted)
            and backlog["webhooks unprocessed"] == 0
            and backlog["outbox open"] == 0
            and posted_ok <= delivered
        )
        if done or time.monotonic() - start >= limit:
            return time.monotonic() - start, backlog
        await asyncio.sleep(2.0)


# --- the report --------------------------------------------------------------------------------
def report(run, result, sim, opts, shops, agents, setup_s) -> int:
    agents_, counts, sent = result["agents"], result["counts"], result["sent"]
    inbound = counts["inbound"]
    posted = set(run.posted)
    stored_once = sum(1 for p in posted if inbound.get(p) == 1)
    duplicated = sum(1 for p in posted if inbound.get(p, 0) > 1)
    missing = [p for p in posted if p not in inbound]
    waiting = [p for p in missing if p in counts["waiting"]]
    lost = len(missing) - len(waiting)
    reached = {p for p in posted if p in inbound and (p in run.on_socket or p in run.in_feed)}
    unreached = sum(1 for p in posted if p in inbound) - len(reached)

    accepted = {m for m, (_t, status, _ms) in run.replies.items() if status in (200, 201)}
    refused = len(run.replies) - len(accepted)
    delivered_once = sum(1 for m in accepted if len(sent.get(m, ())) == 1)
    sent_twice = sum(1 for m in sent if len(sent[m]) > 1)
    states = counts["reply_states"]
    reply_open = sum(
        1 for m in accepted if m not in sent and states.get(m) in ("pending", "sending")
    )
    reply_failed = sum(1 for m in accepted if states.get(m) == "failed")
    reply_lost = sum(1 for m in accepted if m not in sent) - reply_open
    stored_twice = sum(
        1 for ids in sent.values() for pid, _t in ids if counts["outbound"].get(pid, 0) > 1
    )
    delivery_ms = [(sent[m][0][1] - run.replies[m][0]) * 1000 for m in accepted if sent.get(m)]
    post_ms = [ms for _t, _s, ms in run.replies.values()]
    dropped = sum(a.dropped for a in agents_)
    sockets_of_shop: dict[str, int] = {}
    for a in agents_:
        for shop in a.shops:
            sockets_of_shop[shop] = sockets_of_shop.get(shop, 0) + 1
    expected = sum(sockets_of_shop.get(run.shop_of[p], 0) for p in posted)
    reopened = sum(a.reopened for a in agents_)

    c.table(
        f"Soak: {opts['minutes']:g} min at {opts['rate']:g} buyer messages/s, {shops} shops, "
        + (
            f"INTERRUPTED at {run.interrupted_at:.0f} s of load, "
            if run.interrupted_at is not None
            else ""
        )
        + f"{agents} agents; "
        + (f"platform writes {opts['send_delay']:g} s late, " if opts.get("send_delay") else "")
        + (
            f"deliveries on a worker of {opts['outbox_workers']} threads, "
            if opts.get("outbox_workers")
            else ""
        )
        + f"load {result['load_s']:.0f} s, drain {result['drain_s']:.0f} s, "
        f"set-up {setup_s:.0f} s ({c.machine()})",
        ["figure", "n", "p50", "p99", "max"],
        [
            ["message lag: webhook due → agent socket (ms)", len(run.lag_ms), *_pcts(run.lag_ms)],
            ["webhook ack, from due time (ms)", len(run.ack_ms), *_pcts(run.ack_ms)],
            ["reply delivery: API POST → platform (ms)", len(delivery_ms), *_pcts(delivery_ms)],
            ["reply POST answered (ms)", len(post_ms), *_pcts(post_ms)],
        ],
    )
    rows = []
    for name in sorted(result["rss_start"].keys() | result["rss_end"].keys()):
        start, end = result["rss_start"].get(name), result["rss_end"].get(name)
        rows.append(
            [
                name,
                f"{start / 1024:.0f}" if start else "-",
                f"{end / 1024:.0f}" if end else "-",
                f"{result['rss_peak'].get(name, 0) / 1024:.0f}",
            ]
        )
    c.table(
        "Resident memory (MB; the celery worker was killed at "
        + ", ".join(f"{t:.0f} s" for t in result["killed_at"])
        + " and started again: its end figure is a fresh process's)",
        ["process", "start", "end", "peak sampled"],
        rows,
    )
    _cpu(result["cpu"])
    backlog = result["backlog"]
    c.table(
        "Sockets, alerts and the backlog at the end",
        ["figure", "value"],
        [
            ["sockets dropped (closed unexpectedly) / reopened", f"{dropped} / {reopened}"],
            ["duplicate pushes of a message to one socket", run.duplicate_pushes],
            ["messages that reached an agent through the feed only", len(run.in_feed)],
            [
                "socket receipts / expected (each message x its shop's agents)",
                f"{len(run.lag_ms):,} / {expected:,}",
            ],
            [
                "SLA alerts recorded (kind: n) / sla.alert events on sockets",
                " ".join(f"{k}:{v}" for k, v in sorted(counts["alerts"].items()))
                + f" / {run.alerts_received:,}",
            ],
            ["webhook posts: HTTP status: count (0 = dropped)", _statuses(run.statuses)],
            [
                "webhooks posted again after a non-200 / never acked",
                f"{run.reposts} / {run.unacked}",
            ],
            ["kept-alive connections found closed (sent again)", run.stale_connections],
            [
                "backlog: webhooks unprocessed (of which message not yet stored)",
                f"{backlog['webhooks unprocessed']} ({len(waiting)})",
            ],
            ["backlog: outbox actions open", backlog["outbox open"]],
            [
                "backlog: Celery tasks queued in Redis (task: n)",
                f"{backlog['tasks queued']:,} ("
                + " ".join(
                    f"{k}: {v:,}" for k, v in sorted(backlog["tasks queued by name"].items())
                )
                + ")",
            ],
            [
                "webhooks failed / outbox actions failed",
                f"{backlog['webhooks failed']} / {backlog['outbox failed']}",
            ],
            ["vacuum", result.get("vacuum", "-")],
        ],
    )
    checks = [
        [
            "buyer messages stored exactly once",
            f"{stored_once:,} / {len(posted):,}",
            "ok" if stored_once + len(waiting) == len(posted) else "FAIL",
        ],
        ["buyer messages stored twice or more", duplicated, "ok" if not duplicated else "FAIL"],
        [
            "buyer messages lost (not stored, no webhook waiting)",
            lost,
            "ok" if not lost else "FAIL",
        ],
        [
            "stored messages that reached no agent (socket or feed)",
            unreached,
            "ok" if not unreached else "FAIL",
        ],
        [
            "replies accepted by the API / refused",
            f"{len(accepted):,} / {refused}",
            "ok" if not refused else "FAIL",
        ],
        [
            "replies delivered exactly once",
            f"{delivered_once:,} / {len(accepted):,}",
            "ok" if delivered_once + reply_open == len(accepted) else "FAIL",
        ],
        [
            "replies sent to the platform twice or more",
            sent_twice,
            "ok" if not sent_twice else "FAIL",
        ],
        [
            "replies stored twice (an echo not adopted)",
            stored_twice,
            "ok" if not stored_twice else "FAIL",
        ],
        [
            "replies failed / lost / still open (backlog)",
            f"{reply_failed} / {reply_lost} / {reply_open}",
            "ok" if not reply_failed and not reply_lost else "FAIL",
        ],
    ]
    _timeline(run, result)
    _api_calls(sim, result["load_s"] + result["drain_s"])
    c.table("Counted once (these set the exit status)", ["check", "value", "result"], checks)
    failed = [row[0] for row in checks if row[2] != "ok"]
    if failed:
        print("soak: FAILED: " + "; ".join(failed), flush=True)
    return 1 if failed else 0


def _cpu(used: dict[str, float]) -> None:
    """Where the machine's CPU went, by process role (``procs.CpuMeter``)."""
    wall = used.get("wall s", 0.0)
    cores = os.cpu_count() or 1
    roles = sorted((k for k in used if k != "wall s"), key=lambda k: -used[k])
    total = sum(used[k] for k in roles)
    rows = [
        [
            role,
            f"{used[role]:,.0f}",
            f"{used[role] / wall:.2f}" if wall else "-",
            f"{100 * used[role] / (wall * cores):.0f} %" if wall else "-",
        ]
        for role in [*roles]
    ]
    rows.append(
        [
            "all",
            f"{total:,.0f}",
            f"{total / wall:.2f}" if wall else "-",
            f"{100 * total / (wall * cores):.0f} %" if wall else "-",
        ]
    )
    c.table(
        f"CPU by process role over {wall:,.0f} s of load and drain ({cores} cores; a killed "
        "worker's last 5 s are not counted)",
        ["role", "CPU s", "cores used", "of the machine"],
        rows,
    )


def _pcts(values: list[float]) -> list[object]:
    if not values:
        return ["-", "-", "-"]
    return [c.pct(values, 50), c.pct(values, 99), max(values)]


def _timeline(run, result) -> None:
    """Minute by minute: the lag of the messages due in it, the backlog and uvicorn's RSS at
    its end, the CPU seconds of the server, the worker and PostgreSQL in it (from the CPU
    samples, every few seconds: a minute's figure may hold a few seconds of the next), and the
    socket events received in it by kind."""
    by_minute: dict[int, list[float]] = {}
    for due, lag in zip(run.lag_due, run.lag_ms, strict=True):
        by_minute.setdefault(int((due - run.wall_start) // 60), []).append(lag)
    rows = []
    before: dict[str, float] = {}
    for at, backlog, web_kb, cpu_used in result["timeline"]:
        minute = int(at // 60) - 1
        lags = by_minute.get(minute, [])
        kinds = run.kinds_by_minute.get(minute, {})
        cpu = {k: v - before.get(k, 0.0) for k, v in cpu_used.items()}
        before = cpu_used
        rows.append(
            [
                f"{minute + 1}",
                len(lags),
                c.pct(lags, 50) / 1000 if lags else "-",
                c.pct(lags, 99) / 1000 if lags else "-",
                backlog["webhooks unprocessed"],
                backlog["tasks queued"],
                " ".join(f"{k}: {v}" for k, v in sorted(backlog["tasks queued by name"].items())),
                backlog["outbox open"],
                f"{web_kb / 1024:.0f}",
                f"{cpu.get('uvicorn', 0.0):.0f}",
                f"{cpu.get('celery worker', 0.0):.0f}",
                f"{cpu.get('PostgreSQL', 0.0):.0f}",
                " ".join(f"{k}: {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])),
            ]
        )
    c.table(
        "Minute by minute (lag of the messages due in the minute; the rest at its end)",
        [
            "minute",
            "socket receipts",
            "lag p50 s",
            "lag p99 s",
            "webhooks unprocessed",
            "tasks queued",
            "of which",
            "outbox open",
            "uvicorn MB",
            "uvicorn CPU s",
            "worker CPU s",
            "PostgreSQL CPU s",
            "socket events by kind",
        ],
        rows,
    )


def _api_calls(sim, seconds: float) -> None:
    """The platform calls the workers made (what the backfill of every shop costs)."""
    with sim.lock:
        top = sim.api_calls.most_common(8)
    c.table(
        f"Simulator API calls over the run ({seconds:.0f} s)",
        ["call", "n", "per s"],
        [[f"{method} {route}", n, n / seconds] for (method, route), n in top],
    )


def _statuses(statuses: dict[int, int]) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
