"""The whole queue request for the views people use, at 10k and 1M conversations (10 messages
each), with the database's share beside it (issue 18).

    .venv/bin/python -m bench.queue_views [--runs 40] [--sizes 10000,1000000]
        [--views "agent default,mine"] [--no-fresh] [--profile] [--explain]

The world of ``bench.queue_due`` (200 shop accounts of skewed sizes, 2,000 buyers with encrypted
names, conversations with sealed previews and messages, open SLA deadlines; rows in SQL, indexes
after, ``VACUUM ANALYZE``), made realistic for the views: 50 more agents on four shops each
(every shop has one), half the open and pending conversations assigned to an agent of their shop
(some of them to the measured agent), 8 tags on ~15 % of the conversations, then ``VACUUM
ANALYZE`` as autovacuum would. Views, each ``GET /api/v1/queue/...`` through Django's whole
request path (session, member, selector, payload, JSON) with the test ``Client``:

- agent default (an agent of four shops: one large, one middling, two small), ``sort=waiting``;
- supervisor of all 200 shops;
- "mine" (``assignee=me``), the same agent;
- a tag (``tag=refund``), the supervisor;
- sorted by due time (``sort=due``), the agent;
- page 5 (the agent's default queue, following ``next`` four times; the fifth page is timed).

Per view: median / p95 wall ms of ``--runs`` requests after 5 warm-ups, this thread's CPU ms,
and the request's SQL: the number of queries and the time spent inside them (sum of
``cursor.execute`` round trips on this machine: the database's execution plus the driver), the
limit the request is measured against. Beside it, the first request of a fresh process (a new
Python process that sets Django up and then times its first and second request of the view).

Target (issue): the whole request ≤ 10 ms median at 1M conversations / 10M messages, warm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench import _common as c
from bench import queue_due_seed as seed

DB = "scrm_bench_queue_views"
TARGET_MS = 10.0
EXTRA_AGENTS = 50  # on shops i, i + 50, i + 100, i + 150: every shop has one
TAGS = ("refund", "shipping", "damaged", "vip", "wrong size", "follow up", "late", "other")
VIEWS = {
    "agent default": ("agent_mixed", "/api/v1/queue/"),
    "supervisor": ("supervisor", "/api/v1/queue/"),
    "mine": ("agent_mixed", "/api/v1/queue/?assignee=me"),
    "a tag": ("supervisor", "/api/v1/queue/?tag=refund"),
    "sorted by due": ("agent_mixed", "/api/v1/queue/?sort=due"),
    "page 5": ("agent_mixed", "page5"),
}


def realism(w: dict) -> None:
    """More agents (four shops each) and the organisation's tags; kept in ``w`` for
    :func:`assign_and_tag`."""
    from django.contrib.auth import get_user_model

    from inbox.models import Member, ShopMembership, Tag

    shops, org = w["shops"], w["org"]
    agent_of_shop: dict[int, int] = {}
    for i in range(EXTRA_AGENTS):
        user = get_user_model().objects.create_user(f"agent{i:02d}")
        Member.objects.create(user=user, organisation=org, role="agent")
        for k in range(4):
            shop = shops[(i + k * EXTRA_AGENTS) % len(shops)]
            ShopMembership.objects.create(user=user, shop_account=shop)
            agent_of_shop.setdefault(shop.id, user.id)
    for rank in seed.AGENT_MIXED_RANKS:  # the measured agent holds their shops' conversations
        agent_of_shop[shops[rank - 1].id] = w["users"]["agent_mixed"].id
    fallback = w["users"]["supervisor"].id
    w["shop_ids"] = [s.id for s in shops]
    w["assignee_by_shop"] = [agent_of_shop.get(s.id, fallback) for s in shops]
    w["tags"] = [Tag.objects.create(organisation=org, name=name).id for name in TAGS]


def assign_and_tag(w: dict) -> dict[str, float]:
    """Half the open and pending conversations assigned to an agent of their shop, ~15 % of all
    tagged, then ``VACUUM ANALYZE`` (as autovacuum would); seconds taken."""
    t0 = time.perf_counter()
    with seed._admin(DB) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE inbox_conversation SET assignee_id = "
            "(%s::bigint[])[array_position(%s::bigint[], shop_account_id)] "
            "WHERE status IN ('open', 'pending') AND (hashint4(id::int * 13) & 1) = 0",
            (w["assignee_by_shop"], w["shop_ids"]),
        )
        cur.execute(
            "INSERT INTO inbox_conversation_tags (conversation_id, tag_id) "
            "SELECT id, (%s::bigint[])[1 + (hashint4(id::int * 7) & 2147483647) %% 8] "
            "FROM inbox_conversation WHERE (hashint4(id::int * 3) & 2147483647) %% 100 < 15",
            (w["tags"],),
        )
        cur.execute("VACUUM ANALYZE inbox_conversation")
        # VACUUM too, as autovacuum does after this many inserts (its insert threshold): the
        # tag view's index-only scan of the links reads the heap of a table never vacuumed
        # (the tag view 10.3-11.0 ms at 1M unvacuumed, 9.2 once vacuumed).
        cur.execute("VACUUM ANALYZE inbox_conversation_tags")
    return {"assignees and tags": time.perf_counter() - t0}


def _page5(client) -> str:
    """The path of the agent's fifth page (four ``next`` links followed)."""
    path = "/api/v1/queue/"
    for _ in range(4):
        body = client.get(path).json()
        if not body.get("next"):
            raise RuntimeError("fewer than five pages")
        path = body["next"].split("testserver", 1)[-1]
    return path


def _measure(client, path: str, runs: int) -> dict[str, list[float]]:
    from django.db import connection

    sql_ms: list[float] = []
    queries: list[int] = []

    def timer(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_ms[-1] += (time.perf_counter() - t0) * 1000
            queries[-1] += 1

    wall, cpu = [], []
    for i in range(runs + 5):
        sql_ms.append(0.0)
        queries.append(0)
        t0, c0 = time.perf_counter(), time.thread_time()
        with connection.execute_wrapper(timer):
            response = client.get(path)
        elapsed, spent = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
        if response.status_code != 200 or b"could not be decrypted" in response.content:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.content[:200]}")
        if i >= 5:
            wall.append(elapsed)
            cpu.append(spent)
    return {"wall": wall, "cpu": cpu, "sql": sql_ms[5:], "queries": [float(q) for q in queries[5:]]}


FRESH = """
import json, sys, time
from bench import _common as c
c.setup_django(sys.argv[1])
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username=sys.argv[2]))
out = []
for _ in range(2):
    t0 = time.perf_counter()
    response = client.get(sys.argv[3])
    out.append((time.perf_counter() - t0) * 1000)
    assert response.status_code == 200, response.status_code
print(json.dumps(out))
"""


def fresh_process(username: str, path: str) -> list[float]:
    """The first and second request of a new process (Django set up, nothing warmed)."""
    result = subprocess.run(
        [sys.executable, "-c", FRESH, DB, username, path],
        env=c.child_env(DB),
        cwd=c.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def profile(client, path: str, runs: int = 200) -> None:
    """Where a request's time goes: ``cProfile`` over ``runs`` requests, the top functions by
    their own time and by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(path)
    profiler.disable()
    if out := os.environ.get("SCRM_BENCH_PROFILE_OUT"):
        profiler.dump_stats(out)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def _shorten(sql: str, head: int = 160, tail: int = 900) -> str:
    return sql if len(sql) <= head + tail else f"{sql[:head]} … {sql[-tail:]}"


def explain(client, path: str) -> list[tuple[float, float, str]]:
    """The database's own times for one request's reads: each SELECT of the request run again
    under ``EXPLAIN (ANALYZE)``, as (planning ms, execution ms, SQL); warm (after ``_measure``)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    out = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = cursor.fetchone()[0][0]
            out.append((plan["Planning Time"], plan["Execution Time"], sql))
    return out


def run(
    *,
    runs: int,
    sizes: tuple[int, ...],
    views: tuple[str, ...] = tuple(VIEWS),
    fresh: bool = True,
    profiled: bool = False,
    explained: bool = False,
) -> None:
    c.database_create(DB)
    c.setup_django(DB)
    rows, summary = [], []
    db_rows: list[list] = []
    slowest: list[str] = []
    try:
        c.migrate()
        from django.test import Client

        w = seed.world()
        realism(w)
        clients = {}
        for name, user in w["users"].items():
            clients[name] = Client()
            clients[name].force_login(user)
        for n in sorted(sizes):
            steps = seed.generate(DB, w["org"].id, n)
            steps.update(assign_and_tag(w))
            load = [os.getloadavg()[0]]
            for view in views:
                who, path = VIEWS[view]
                client = clients[who]
                if path == "page5":
                    path = _page5(client)
                m = _measure(client, path, runs)
                first = (
                    fresh_process(w["users"][who].username, path)
                    if fresh and n == max(sizes)
                    else []
                )
                load.append(os.getloadavg()[0])
                median = c.median(m["wall"])
                if explained:
                    plans = explain(client, path)
                    db_rows.append(
                        [
                            f"{n:,}",
                            view,
                            len(plans),
                            round(sum(p for p, _, _ in plans), 2),
                            round(sum(e for _, e, _ in plans), 2),
                            c.median(m["sql"]),
                        ]
                    )
                    worst = max(plans, key=lambda t: t[0] + t[1])
                    slowest.append(
                        f"{n:,} {view}: planning {worst[0]:.2f} ms, execution {worst[1]:.2f} ms"
                        f"\n    {_shorten(worst[2])}"
                    )
                rows.append(
                    [
                        f"{n:,} / {n * 10:,}",
                        view,
                        median,
                        c.pct(m["wall"], 95),
                        c.median(m["cpu"]),
                        int(c.median(m["queries"])),
                        c.median(m["sql"]),
                        " / ".join(f"{x:.1f}" for x in first) if first else "",
                    ]
                )
                if n == max(sizes):
                    summary.append([view, median, "met" if median <= TARGET_MS else "NO"])
            print(
                f"\n{n:,}: seeding seconds {json.dumps({k: round(v, 1) for k, v in steps.items()})}"
            )
            print(
                f"{n:,}: load average (1 min) while measuring: "
                + ", ".join(f"{x:.1f}" for x in load)
            )
        c.table(
            f"GET /api/v1/queue/ per view, {runs} runs ({c.machine()})",
            [
                "conversations / messages",
                "view",
                "median ms",
                "p95 ms",
                "CPU ms here",
                "queries",
                "in SQL ms",
                "fresh process: 1st / 2nd ms",
            ],
            rows,
        )
        c.table(
            f"Target: median <= {TARGET_MS:g} ms at {max(sizes):,}",
            ["view", "median ms", "target"],
            summary,
        )
        if explained:
            c.table(
                "The database's own time per request (each SELECT again under EXPLAIN ANALYZE)",
                [
                    "conversations",
                    "view",
                    "SELECTs",
                    "planning ms",
                    "execution ms",
                    "round trips ms (median, above)",
                ],
                db_rows,
            )
            print("\nThe costliest SELECT of each view:")
            for line in slowest:
                print(line)
        if profiled:
            for view in views:
                who, path = VIEWS[view]
                if path != "page5":
                    print(f"\n### cProfile of {view}: {path}")
                    profile(clients[who], path)
    finally:
        c.redis_flush()
        c.database_drop(DB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--views", default=",".join(VIEWS), help="comma-separated view names")
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh-process runs")
    parser.add_argument("--profile", action="store_true", help="cProfile each view at the end")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="each view's SELECTs again under EXPLAIN ANALYZE: planning and execution ms",
    )
    args = parser.parse_args(argv)
    views = tuple(v.strip() for v in args.views.split(",") if v.strip())
    unknown = [v for v in views if v not in VIEWS]
    if unknown:
        parser.error(f"unknown views {unknown}; choose from {list(VIEWS)}")
    run(
        runs=args.runs,
        sizes=tuple(int(s) for s in args.sizes.split(",")),
        views=views,
        fresh=not args.no_fresh,
        profiled=args.profile,
        explained=args.explain,
    )


if __name__ == "__main__":
    main()
