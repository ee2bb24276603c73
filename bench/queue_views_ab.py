"""The queue views of ``bench.queue_views`` timed against a database seeded once, so two trees
(a ``git worktree`` of the commit before, this one) can be measured alternately on the same
rows in one sitting — the only fair comparison on a machine whose speed drifts between runs.

    .venv/bin/python -m bench.queue_views_ab seed --size 1000000        # once, ~3 min
    # then, alternately in each tree (the module is copied into an old one):
    .venv/bin/python -m bench.queue_views_ab time --runs 80 [--views "agent default,page 5"]
    .venv/bin/python -m bench.queue_views_ab http --runs 200      # through uvicorn, as served
    .venv/bin/python -m bench.queue_views_ab drop

``time`` prints, per view, the median wall ms, the request's CPU ms, the statements and the ms
spent in them (``bench.queue_views._measure``: Django's test client, in this process and one
thread). ``http`` serves the app with uvicorn (one worker, services mode) and times each view
over one keep-alive connection, one request at a time, as a browser's page asks: the ASGI path
a person's request takes, where each request runs in a thread of its own. Redis: the
benchmarks' own database.
"""

from __future__ import annotations

import argparse

from bench import _common as c
from bench import queue_due_seed as seed
from bench import queue_views as qv

DEFAULT_DB = DB = "scrm_bench_queue_views_ab"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["seed", "time", "http", "drop"])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=80)
    parser.add_argument("--views", default=",".join(qv.VIEWS))
    parser.add_argument("--db", default=DEFAULT_DB, help="the bench database (scrm_bench_…)")
    args = parser.parse_args(argv)
    global DB
    DB = qv.DB = args.db  # the world's helpers seed and time the database they are told
    if args.action == "drop":
        c.database_drop(DB)
        return
    if args.action == "seed":
        c.database_create(DB)
        c.setup_django(DB)
        c.migrate()
        w = seed.world()
        qv.realism(w)
        seed.generate(DB, w["org"].id, args.size)
        qv.assign_and_tag(w)
        print(f"seeded {args.size:,} conversations into {DB}")
        return
    c.setup_django(DB)
    from django.contrib.auth import get_user_model
    from django.test import Client

    clients = {}
    for name in ("agent_mixed", "supervisor"):
        clients[name] = Client()
        clients[name].force_login(get_user_model().objects.get(username=name))
    views = [v.strip() for v in args.views.split(",") if v.strip()]
    if args.action == "http":
        _http(clients, views, args.runs)
        return
    for view in views:
        who, path = qv.VIEWS[view]
        if path == "page5":
            path = qv._page5(clients[who])
        m = qv._measure(clients[who], path, args.runs)
        print(
            f"{view:15s} wall {c.median(m['wall']):.2f} cpu {c.median(m['cpu']):.2f} "
            f"sql {c.median(m['sql']):.2f} q {c.median(m['queries']):.0f}"
        )


def _http(clients: dict, views: list[str], runs: int) -> None:
    import asyncio
    import tempfile
    from pathlib import Path

    with (
        tempfile.TemporaryDirectory() as tmp,
        c.server_running(DB, workers=1, log=Path(tmp) / "uvicorn.log") as port,
    ):
        for view in views:
            who, path = qv.VIEWS[view]
            if path == "page5":
                path = qv._page5(clients[who])
            key = clients[who].cookies["sessionid"].value
            raw = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={key}\r\n\r\n"
            ).encode()
            _, latencies, statuses = asyncio.run(
                c.http_load(port, [raw] * (runs + 10), concurrency=1, time_limit=120)
            )
            if set(statuses) != {200}:
                raise RuntimeError(f"{view}: answers {statuses}")
            print(f"{view:15s} http median {c.median(latencies[10:]):.2f} ms")


if __name__ == "__main__":
    main()
