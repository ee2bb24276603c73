"""The one queue's first page with after-sales cases mixed in, at 10k conversations + 10k cases
and at 100k + 100k (issue 13).

    .venv/bin/python -m bench.queue_cases [--runs 60] [--sizes 10000,100000]

Services mode on a throw-away database (``scrm_bench_queue_cases``). The world of
``bench.queue_page`` (20 shop accounts, an agent of 5, 2,000 buyers made through
``customer_upsert``) with N conversations generated as there (~40% open or pending, 10
messages each) and N after-sales cases generated in SQL in one statement: spread over the 20
shops and the same buyers, 20% needing a decision (the rest waiting, decided or closed), asked
over the last 4 days with a seller deadline 36 to 84 h later (so the earliest are as overdue as
the longest-waiting conversations), 5% of those needing a decision without a deadline.

Figures at each size, median and p95 of 60 timed runs after 5 warm-ups, through Django's test
``Client`` after ``force_login``:
- ``GET /api/v1/queue/``: the mixed queue's first page (50 rows) as JSON: the headline figure,
  comparable with ``bench.queue_page``'s ``GET /api/v1/conversations/``;
- the same with ``?kind=conversations`` (no cases: what mixing them in costs) and
  ``?kind=cases`` (after-sales only);
- ``GET /inbox/queue/``: the queue fragment the web page loads (50 rows rendered to HTML);
- ``queue_page()`` alone (the selector: its queries, no template);
- ``EXPLAIN (ANALYZE, BUFFERS)`` of the case query (one ordered, limited scan of ``case_queue``
  per shop, put together with ``UNION ALL``), printed, and whether it reads ``case_queue``.

Target (issue): median <= 30 ms at 100k + 100k, and <= 2x the 10k + 10k figure.
"""

from __future__ import annotations

import argparse
import time

from bench import _common as c
from bench.queue_page import AGENT_SHOPS, SHOPS, _generate, _world

DB = "scrm_bench_queue_cases"
TARGET_MEDIAN_MS, TARGET_RATIO = 30.0, 2.0
CASE_QUERY_MARK = "UNION ALL"

GENERATE_CASES = """
INSERT INTO inbox_aftersalescase (
    organisation_id, shop_account_id, family, platform_case_id, kind, platform_type,
    platform_status, stage, requested_by, reason_code, buyer_reason, lines, amounts,
    seller_action, seller_deadline, arbitration_status, order_platform_id, customer_id,
    conversation_id, evidence, history, platform_created_at, platform_updated_at, created_at,
    updated_at, sla_due_at, row_uid)
SELECT %(org)s, shops[1 + (g %% %(n_shops)s)], 'return', 'r' || g,
       (ARRAY['refund', 'return_and_refund', 'replacement'])[1 + g %% 3], 'REFUND',
       CASE st WHEN 'needs_decision' THEN 'RETURN_OR_REFUND_REQUEST_PENDING'
               WHEN 'waiting' THEN 'AWAITING_BUYER_SHIP'
               WHEN 'decided' THEN 'RETURN_OR_REFUND_REQUEST_SUCCESS'
               ELSE 'RETURN_OR_REFUND_REQUEST_COMPLETE' END,
       st, 'BUYER', 'ecom_order_delivered_refund_and_return_damaged', '', '[]'::jsonb, '{}'::jsonb,
       '', CASE WHEN st = 'needs_decision' AND (hashint4(g * 7) & 2147483647) %% 20 = 0 THEN NULL
                ELSE created + interval '36 hours'
                     + ((hashint4(g * 17) & 2147483647) %% 172800) * interval '1 second' END,
       '', 'o' || g, customers[1 + (g * 7919) %% %(n_customers)s], NULL, '[]'::jsonb, '[]'::jsonb,
       created, created, created, created, '9999-01-01'::timestamptz, %(uid)s::uuid
FROM (
  SELECT g,
         CASE WHEN r < 20 THEN 'needs_decision' WHEN r < 50 THEN 'waiting'
              WHEN r < 80 THEN 'decided' ELSE 'closed' END AS st,
         now() - interval '4 days'
         + ((hashint4(g * 31) & 2147483647) %% 345600) * interval '1 second' AS created
  FROM (SELECT g, (hashint4(g) & 2147483647) %% 100 AS r FROM generate_series(1, %(n)s) AS g) a
) b,
(SELECT array_agg(id ORDER BY id) AS shops FROM inbox_shopaccount) s,
(SELECT array_agg(id ORDER BY id) AS customers FROM inbox_customer) cu
"""


def _generate_cases(org_id: int, n: int) -> float:
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE inbox_aftersalescase CASCADE")
        cur.execute(
            GENERATE_CASES,
            {
                "org": org_id,
                "n": n,
                "n_shops": SHOPS,
                "n_customers": 2000,
                "uid": c.BENCH_ROW_UID,
            },
        )
        # As autovacuum leaves a table after inserts (the visibility map set: index-only scans).
        cur.execute("VACUUM ANALYZE inbox_aftersalescase")
    return time.perf_counter() - t0


def _time(fn, runs: int) -> list[float]:
    timings = []
    for i in range(runs + 5):
        t0 = time.perf_counter()
        fn()
        if i >= 5:  # warm-up
            timings.append((time.perf_counter() - t0) * 1000)
    return timings


def _get(client, path: str):
    def call():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return response

    return call


def _case_plan(agent) -> tuple[str, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inbox.selectors import QueueFilters
    from inbox.selectors.queue import queue_page

    with CaptureQueriesContext(connection) as ctx:
        queue_page(agent, QueueFilters(), limit=50)
    sql = next(q["sql"] for q in ctx.captured_queries if CASE_QUERY_MARK in q["sql"])
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(r[0] for r in cur.fetchall())
    return sql, plan


def _single_query(agent, runs: int) -> tuple[list[float], str]:
    """Baseline: the cases with a deadline as one query over the IN list of the agent's shops
    (what the per-shop scans replace), timed alone, and its plan."""
    from django.db import connection

    from inbox.models import AfterSalesCase
    from inbox.selectors import shop_account_ids_for

    qs = (
        AfterSalesCase.objects.filter(
            shop_account_id__in=shop_account_ids_for(agent),
            stage="needs_decision",
            seller_deadline__isnull=False,
        )
        .order_by("seller_deadline", "id")
        .values_list("id", "seller_deadline")[:51]
    )
    sql, params = qs.query.sql_with_params()
    timings = []
    with connection.cursor() as cur:
        for i in range(runs + 5):
            t0 = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            if i >= 5:
                timings.append((time.perf_counter() - t0) * 1000)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    return timings, plan


def _time_case_sql(sql: str, runs: int) -> list[float]:
    from django.db import connection

    timings = []
    with connection.cursor() as cur:
        for i in range(runs + 5):
            t0 = time.perf_counter()
            cur.execute(sql)
            cur.fetchall()
            if i >= 5:
                timings.append((time.perf_counter() - t0) * 1000)
    return timings


def _measure(client, agent, runs: int) -> dict:
    from inbox.selectors import QueueFilters
    from inbox.selectors.queue import queue_page

    first = client.get("/inbox/queue/").content.decode()
    sql, plan = _case_plan(agent)
    return {
        "mixed": _time(_get(client, "/api/v1/queue/"), runs),
        "chats": _time(_get(client, "/api/v1/queue/?kind=conversations"), runs),
        "cases": _time(_get(client, "/api/v1/queue/?kind=cases"), runs),
        "html": _time(_get(client, "/inbox/queue/"), runs),
        "selector": _time(lambda: queue_page(agent, QueueFilters(), limit=50), runs),
        "rows": (first.count('class="qrow'), first.count('id="qcase-')),
        "sql": sql,
        "plan": plan,
        "case_sql": _time_case_sql(sql, runs),
        "single": _single_query(agent, runs),
        "uses_index": "case_queue" in plan,
    }


def run(*, runs: int = 60, sizes: tuple[int, ...] = (10_000, 100_000)) -> dict:
    c.database_create(DB)
    c.setup_django(DB)
    results: dict = {}
    try:
        c.migrate()
        from django.test import Client

        org, _shops, agent = _world()
        client = Client()
        client.force_login(agent)
        for n in sorted(sizes):
            gen = _generate(org.id, n) + _generate_cases(org.id, n)
            results[n] = {"gen_s": gen, **_measure(client, agent, runs)}
            print(f"\n-- EXPLAIN (ANALYZE, BUFFERS) of the case query, {n:,} + {n:,}:")
            print(results[n]["plan"])
            print(f"\n-- baseline, one query over the IN list, {n:,} + {n:,}:")
            print(results[n]["single"][1])
        print("\n-- case query:\n" + results[min(sizes)]["sql"])
        rows = []
        for n in sorted(sizes):
            r = results[n]
            for label, key in (
                ("GET /api/v1/queue/ (mixed)", "mixed"),
                ("… ?kind=conversations", "chats"),
                ("… ?kind=cases", "cases"),
                ("GET /inbox/queue/ (HTML, mixed)", "html"),
                ("queue_page() alone", "selector"),
                ("case keys SQL: per-shop scans (as shipped)", "case_sql"),
            ):
                rows.append([f"{n:,} + {n:,}", label, c.median(r[key]), c.pct(r[key], 95)])
            single = r["single"][0]
            rows.append(
                [
                    f"{n:,} + {n:,}",
                    "case keys SQL: one IN-list query (baseline)",
                    c.median(single),
                    c.pct(single, 95),
                ]
            )
        c.table(
            f"The one queue's first page (50 rows), agent of {AGENT_SHOPS}/{SHOPS} shops, "
            f"{runs} runs ({c.machine()})",
            ["conversations + cases", "what", "median ms", "p95 ms"],
            rows,
        )
        if len(sizes) >= 2:
            small, big = min(sizes), max(sizes)
            ratio = c.median(results[big]["mixed"]) / c.median(results[small]["mixed"])
            met = c.median(results[big]["mixed"]) <= TARGET_MEDIAN_MS and ratio <= TARGET_RATIO
            c.table(
                "Ratios and target (median <= 30 ms at 100k + 100k and <= 2x the 10k + 10k time)",
                ["figure", "value"],
                [
                    [f"API mixed median {big:,}/{small:,}", f"{ratio:.2f}x"],
                    [
                        f"HTML mixed median {big:,}/{small:,}",
                        f"{c.median(results[big]['html']) / c.median(results[small]['html']):.2f}x",
                    ],
                    [
                        f"mixed / conversations only at {big:,}",
                        f"{c.median(results[big]['mixed']) / c.median(results[big]['chats']):.2f}x",
                    ],
                    [
                        "first page rows (conversations, cases) per size",
                        ", ".join(f"{n:,}: {results[n]['rows']}" for n in sorted(sizes)),
                    ],
                    [
                        "case query reads case_queue",
                        ", ".join(f"{n:,}: {results[n]['uses_index']}" for n in sorted(sizes)),
                    ],
                    [
                        "data generation s (per size)",
                        ", ".join(f"{n:,}: {results[n]['gen_s']:.1f}" for n in sorted(sizes)),
                    ],
                    ["target", "met" if met else "NOT met"],
                ],
            )
    finally:
        c.redis_flush()
        c.database_drop(DB)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args(argv)
    sizes = tuple(min(int(s), 200_000) for s in args.sizes.split(","))
    run(runs=max(10, min(args.runs, 500)), sizes=sizes)


if __name__ == "__main__":
    main()
