"""A day's peak, held: buyer messages at a steady rate across many shops, agents connected and
replying, the periodic sweeps running, Celery workers killed and started again (issue 18).

    .venv/bin/python -m bench.soak [--minutes 60] [--rate 100] [--shops 200] [--agents 50]
    .venv/bin/python -m bench.soak --minutes 2 --rate 20 --drain 60    # the CI form

Services mode on a throw-away database (``scrm_bench_soak``) and a Redis db of its own (db 14,
``BENCH_SOAK_REDIS_URL``: not the other benches' db 15, which a bench run beside it would flush,
channel groups and Celery queue with it), every part real and as deployed: ``uvicorn
scrm.asgi:application`` (``--web-workers``), ``celery -A scrm worker`` (its pool as shipped:
one process a core) and ``celery -A scrm beat`` (``settings.SCRM_PERIODIC_TASKS``: the backfill of
every shop, the outbox and stale-webhook sweeps, the SLA sweep and digest, metrics, audit
sealing, ...). The TikTok Shop simulator serves its HTTP API from this process
(``TIKTOK_API_BASE``); the workers read messages from it and deliver replies to it.

- Buyers: ``--rate`` messages a second, open loop (message i is due at start + i/rate whether
  or not earlier ones were answered), each to a random one of ``--shops`` shops, about three a
  conversation; each is written to the simulator, and its signed NEW_MESSAGE notification
  posted to ``/webhooks/tiktok/`` (a non-200 is posted again a second later, as the platform
  retries). The simulator's echoes of the shop's own sends are posted too, as the platform
  sends them.
- Agents: ``--agents`` people, each a member of ``--agents-per-shop``-in-``--agents`` of the
  shops (so every shop has agents), each with ``/ws/inbox/`` open (a Django session) and an API
  token. Each replies, about every ``--reply-every`` seconds, to the latest conversation it saw
  a buyer message of: ``POST /api/v1/conversations/<id>/messages/`` with an idempotency key. A
  socket that closes is counted as dropped, opened again, and catches up from
  ``/api/v1/events/?after=<last id>`` (the design's "REST is the truth").
- Alerts: the organisation's SLA policy is shortened (first and next reply within 3 minutes, a
  warning at 2 minutes before) so the SLA sweep warns and breaches within a short run.
- Workers: at 1/3 and 2/3 of the run the Celery worker's process group (main process and pool)
  is killed with SIGKILL and started again; what it held is recovered by the product's own
  sweeps (stale webhooks after 2 minutes, the backfill every minute, the outbox after its
  lease).
- A slow platform (``--send-delay S``): each of chat's writes (a send, a mark-read) is answered
  S seconds late, as a platform under load does; ``--outbox-workers N`` runs deliveries on a
  worker of their own (``-Q outbox -P threads -c N``), the main worker taking the webhooks and
  beat's ticks (``-Q celery,periodic``), as docker/compose.yml does. The kills hit the main
  worker.
- Vacuum: when the server's autovacuum is off (the CI machine's is), the bench does what it
  would, by its rules and settings (``bench/soak/vacuum.py``): production runs it, and an hour
  without it measures a bloat production never has.

Then a bounded drain (``--drain`` seconds: load stopped, sockets and sweeps still running)
until every buyer message is stored, no webhook is unprocessed and no outbox action is open.

Interrupted (SIGINT, SIGTERM) during the load, the load stops there and the drain and the report
follow, the report's title saying when; a signal after that stops at once, with no report (the
servers stopped all the same).

Figures: message lag (the webhook's due time to each agent socket's receipt of its
``message.created``) p50/p99/max; webhook ack p99; reply delivery (the API POST to the
simulator's record of the sent message, to the millisecond of its index) p50/p99; reply POST
p99; resident memory (VmRSS of each process of the tree) at start, end and its peak; minute
by minute, the backlog, the CPU of the server, worker and PostgreSQL, and the socket events by
kind; sockets dropped and reopened; alerts recorded and received; the backlog at the end.
Checks, which set
the exit status: each buyer message stored exactly once; each agent reply delivered to the
platform exactly once and never failed; each stored buyer message reached an agent, on a socket
or through the change feed. A backlog left at the end (work still queued: unprocessed webhooks,
open outbox actions, a message whose webhook still waits for its stale sweep) is reported, not
failed: it says the rate is above what this machine sustains. Latencies are reported, not
asserted. Lag is measured by this process's clock on both ends; on a busy machine it includes
this process's own delay in reading the socket.

The CI form (``.ci/run``, ``make soak-ci``): 2 minutes at 20 messages a second, a 60 s drain,
~4.5 minutes in all with set-up. Why 20/s: the CI machine has two cores (~3x slower per core
than a fast one) shared by the server, the worker, beat, PostgreSQL, Redis and this process;
the worker alone turns stored webhooks into messages at 50-110 events/s there, and the soak
adds the agents' replies, 50 sockets, the SLA sweep and the backfill of 200 shops every minute
(600 tasks a minute in the same queue). A fifth of the issue's rate keeps the run about the two
kills and their recovery, and inside CI's time; it does not mean the machine sustains 20/s
(docs/performance.md, issue 18: it did not, because of the backfill). CI fails only on a
message or reply lost or doubled, or a stored message no agent could see; latencies and the
backlog are printed for the reader. The issue's figure is the default (60 minutes at 100/s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import _common as c
from bench.soak.load import (
    Agent,
    Poster,
    Run,
    agent_replies,
    agent_socket,
    buyers,
    catch_up,
    echoes,
    worker_kills,
)
from bench.soak.procs import CpuMeter, Restartable, celery_args, rss_kb, rss_tree, server_pid
from bench.soak.report import backlog_read, drain_wait, final_counts, report, sent_replies
from bench.soak.vacuum import Autovacuum
from bench.soak.world import world_create

DB = "scrm_bench_soak"
# Its own Redis db: the other benches share db 15 (``c.REDIS_URL``), and one run beside the soak
# flushes it (the sockets' channel groups with it) and shares its Celery queue.
REDIS_URL = os.environ.get("BENCH_SOAK_REDIS_URL", "redis://127.0.0.1:6379/14")
CPU_SAMPLE_S = 5.0  # how often the CPU of every process is read
WARM_UP_S = 30.0  # into the load: when the memory figures' "start" is read
PUSH_GRACE_S = 5.0


# --- the run -----------------------------------------------------------------------------------
async def _soak(run: Run, sim, world: dict, opts: dict, worker: Restartable, sample) -> dict:
    agents = [
        Agent(index=i, session=p["session"], token=p["token"], shops=p["shops"])
        for i, p in enumerate(world["people"])
    ]
    opened = [asyncio.Event() for _ in agents]
    sockets = [
        asyncio.create_task(agent_socket(run, a, e)) for a, e in zip(agents, opened, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 120)
    rss_start: dict[str, int] = {}
    peaks: dict[str, int] = {}
    killed_at: list[float] = []
    timeline: list[tuple[float, dict, int, dict[str, float]]] = []
    poster = Poster(run)
    loop = asyncio.get_running_loop()

    def stop_at_once() -> None:
        # From now on a signal stops the run at once, its clean-up included (``run``'s
        # ``finally`` stops the server, the worker and beat, which are in sessions of their own
        # and get no signal): SIGTERM as SIGINT does, by KeyboardInterrupt.
        for s in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(s)
            signal.signal(s, signal.default_int_handler)

    def interrupted(sig: signal.Signals) -> None:
        # A long run stopped early still reports what it measured: the load stops, the drain
        # and the report follow.
        run.interrupted_at = time.monotonic() - run.started
        run.stop_load = True
        stop_at_once()
        print(
            f"soak: {sig.name} at {run.interrupted_at:.0f} s: the load stops; the drain and the "
            "report follow (again to stop at once)",
            flush=True,
        )

    for s in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(s, interrupted, s)
    run.started = time.monotonic()
    run.wall_start = time.time()
    seconds = opts["minutes"] * 60

    def on_kill(k: int) -> None:
        for name, kb in sample().items():
            peaks[name] = max(peaks.get(name, 0), kb)
        killed_at.append(time.monotonic() - run.started)
        print(f"soak: SIGKILL the celery worker ({k}) at {killed_at[-1]:.0f} s", flush=True)

    async def sampler() -> None:
        # "Start" is once every process has warmed up (imports done, the pool forked, the
        # first tasks run), before the first kill; then a sample every 15 s for the peaks.
        await asyncio.sleep(min(WARM_UP_S, seconds / (opts["kills"] + 1) / 2))
        rss_start.update(await asyncio.to_thread(sample))
        while not run.stop_all:
            for name, kb in (await asyncio.to_thread(sample)).items():
                peaks[name] = max(peaks.get(name, 0), kb)
            await asyncio.sleep(15)

    cpu = CpuMeter()

    async def cpu_sampler() -> None:
        # Where the machine's CPU goes, by process role, from the load's start to the drain's end.
        while not run.stop_all:
            await asyncio.to_thread(cpu.take)
            await asyncio.sleep(CPU_SAMPLE_S)

    async def minutes() -> None:
        # The backlog and the server's memory once a minute: growth shows in a long run.
        while not run.stop_all:
            await asyncio.sleep(60)
            at = time.monotonic() - run.started
            backlog = await asyncio.to_thread(backlog_read)
            web = (await asyncio.to_thread(sample)).get("uvicorn", 0)
            timeline.append((at, backlog, web, dict(cpu.used)))

    background = [
        asyncio.create_task(echoes(run, sim, poster)),
        asyncio.create_task(worker_kills(run, worker, seconds, opts["kills"], on_kill)),
        asyncio.create_task(sampler()),
        asyncio.create_task(minutes()),
        asyncio.create_task(cpu_sampler()),
        *(asyncio.create_task(agent_replies(run, a, opts["reply_every"])) for a in agents),
    ]
    await buyers(run, sim, poster, world["shops"], opts["rate"], seconds)
    if run.interrupted_at is None:
        stop_at_once()  # the load is over: a signal in the drain stops at once
    load_s = time.monotonic() - run.started
    print(f"soak: load done at {load_s:.0f} s; draining (<= {opts['drain']:.0f} s)", flush=True)
    drain_s, backlog = await drain_wait(run, sim, opts["drain"])
    # What is judged is what was stored by now (work still queued goes on: the backlog); the
    # pushes of what was stored are given a few seconds, then a socket's misses are read from
    # the change feed.
    counts = await asyncio.to_thread(final_counts)
    sent = await asyncio.to_thread(sent_replies, sim)
    await asyncio.sleep(PUSH_GRACE_S)
    for agent in agents:
        await catch_up(run, agent)
    # A stored message no socket got (its push lost: e.g. the worker killed between its commit
    # and the push) is looked for in the whole feed of one agent of its shop.
    unreached = {
        run.shop_of[p]
        for p in run.posted
        if p in counts["inbound"] and p not in run.on_socket and p not in run.in_feed
    }
    for shop in sorted(unreached):
        await catch_up(run, next(a for a in agents if shop in a.shops), after=0)
    rss_end = await asyncio.to_thread(sample)
    await asyncio.to_thread(cpu.take)
    run.stop_all = True
    await asyncio.gather(*sockets, *background, return_exceptions=True)
    await poster.close()
    return {
        "agents": agents,
        "counts": counts,
        "sent": sent,
        "load_s": load_s,
        "drain_s": drain_s,
        "backlog": backlog,
        "rss_start": rss_start,
        "rss_end": rss_end,
        "rss_peak": {k: max(v, rss_end.get(k, 0)) for k, v in peaks.items()},
        "killed_at": killed_at,
        "timeline": timeline,
        "cpu": cpu.result(),
    }


def run(
    *,
    minutes: float = 60.0,
    rate: float = 100.0,
    shops: int = 200,
    agents: int = 50,
    agents_per_shop: int = 2,
    reply_every: float = 10.0,
    kills: int = 2,
    drain: float = 300.0,
    web_workers: int = 1,
    send_delay: float = 0.0,
    outbox_workers: int = 0,
) -> int:
    c.REDIS_URL = REDIS_URL  # read by _common's services_env, redis_claim and redis_flush
    c.database_create(DB)
    c.setup_django(DB)
    c.redis_flush()
    logs = Path(tempfile.mkdtemp(prefix="scrm-bench-soak-"))
    from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer

    server = None
    worker = beat = outbox = None
    vacuum = Autovacuum(DB)
    try:
        t_setup = time.monotonic()
        c.migrate()
        sim = Simulator(auto_push=False)
        server = SimulatorServer(sim).start()
        sim_env = {"TIKTOK_API_BASE": server.base_url, "TIKTOK_AUTH_BASE": server.base_url}
        world = world_create(
            sim,
            shops=shops,
            agents=agents,
            per_shop=agents_per_shop,
            webhook_url="http://127.0.0.1:9/unused",
        )
        if send_delay:
            # A platform slow to take chat's writes: every send and mark-read waits (the
            # returns' searches are POSTs too, but reads: left alone).
            sim.set_fault(
                "/customer_service/", "delay", count=10**9, delay=send_delay, method="POST"
            )
        env = c.child_env(DB, "shipped", sim_env)
        # The shipped pool size; with --outbox-workers, deliveries get a worker of their own
        # (docs/configuration.md) and the main one the webhooks and beat's ticks.
        queues = ["-Q", "celery,periodic"] if outbox_workers else []
        worker = Restartable(
            celery_args("worker", "--loglevel", "WARNING", *queues),
            env,
            logs / "worker.log",
        )
        if outbox_workers:
            # As docker/compose.yml's worker-outbox: threads, a database connection each.
            outbox = Restartable(
                celery_args(
                    *("worker", "--loglevel", "WARNING", "-Q", "outbox", "-n", "outbox@%h"),
                    *("-P", "threads", "-c", str(outbox_workers)),
                ),
                {**env, "SCRM_DB_POOL_MAX": str(max(outbox_workers, 10))},
                logs / "worker-outbox.log",
            )
        beat = Restartable(
            celery_args("beat", "--loglevel", "WARNING", "-s", str(logs / "beat-schedule")),
            env,
            logs / "beat.log",
        )
        with c.server_running(
            DB, workers=web_workers, log=logs / "server.log", extra=sim_env
        ) as port:
            web_pid = server_pid(port)
            worker.start()
            beat.start()
            if outbox is not None:
                outbox.start()

            def sample() -> dict[str, int]:
                roots = {"uvicorn": web_pid, "celery worker": worker.proc.pid}
                roots["celery beat"] = beat.proc.pid
                if outbox is not None:
                    roots["celery outbox worker"] = outbox.proc.pid
                out = rss_tree(roots)
                out["bench (simulator, clients)"] = rss_kb(os.getpid())
                return out

            setup_s = time.monotonic() - t_setup
            print(f"soak: set up in {setup_s:.0f} s; logs in {logs}", flush=True)
            state = Run(port=port)
            opts = {
                "minutes": minutes,
                "rate": rate,
                "kills": kills,
                "drain": drain,
                "reply_every": reply_every,
                "send_delay": send_delay,
                "outbox_workers": outbox_workers,
            }
            vacuum.start()
            result = asyncio.run(_soak(state, sim, world, opts, worker, sample))
            vacuum.stop()
            result["vacuum"] = vacuum.summary()
        return report(state, result, sim, opts, shops, agents, setup_s)
    finally:
        vacuum.stop()
        for proc in (worker, beat, outbox):
            if proc is not None:
                proc.stop()
        if server is not None:
            server.stop()
        c.redis_flush()
        c.database_drop(DB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="load duration")
    parser.add_argument("--rate", type=float, default=100.0, help="buyer messages a second")
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--agents-per-shop", type=int, default=2)
    parser.add_argument("--reply-every", type=float, default=10.0, help="seconds, per agent")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of the celery worker")
    parser.add_argument("--drain", type=float, default=300.0, help="seconds at most")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument(
        "--send-delay",
        type=float,
        default=0.0,
        help="seconds the platform takes to answer each write (a send, a mark-read)",
    )
    parser.add_argument(
        "--outbox-workers",
        type=int,
        default=0,
        help="a worker of this many threads for deliveries alone (-Q outbox); 0: one worker",
    )
    args = parser.parse_args(argv)
    sys.exit(
        run(
            minutes=max(0.1, min(args.minutes, 24 * 60)),
            rate=max(0.5, min(args.rate, 1000.0)),
            shops=max(1, min(args.shops, 5000)),
            agents=max(1, min(args.agents, 200)),
            agents_per_shop=max(1, min(args.agents_per_shop, 10)),
            reply_every=max(0.5, args.reply_every),
            kills=max(0, min(args.kills, 10)),
            drain=max(10.0, min(args.drain, 3600.0)),
            web_workers=max(1, min(args.web_workers, 8)),
            send_delay=max(0.0, min(args.send_delay, 30.0)),
            outbox_workers=max(0, min(args.outbox_workers, 16)),
        )
    )


if __name__ == "__main__":
    main()
