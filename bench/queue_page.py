"""The queue's first page (50 rows) for an agent of 5 shops, at 10k and at 100k conversations.

    .venv/bin/python -m bench.queue_page [--runs 60] [--sizes 10000,100000]

Services mode on a throw-away database (``scrm_bench_queue``). 20 shop accounts, the agent
works on 5 of them; 2,000 buyers made through ``customer_upsert`` (encrypted names) and reused;
conversations and 10 messages each generated in SQL (``generate_series``): ~30% open, 10%
pending, 5% snoozed, the rest resolved, ``waiting_since`` spread over 3 days (a third of the
open ones answered, so ``queue_key`` is the sentinel). At each size the figures are the median
and p95 of ``GET /api/v1/conversations/`` through Django's test ``Client`` (force_login), and of
the page's main SQL query alone; ``EXPLAIN (ANALYZE, BUFFERS)`` of that query says whether it
reads the ``conv_queue_open`` partial index (open + pending, in queue order). Baseline in the
same run: the same with both queue indexes (``conv_queue``, ``conv_queue_open``) dropped, inside
a transaction that is rolled back.

Target (issue): median <= 30 ms at 100k, and <= 2x the 10k time.
"""

from __future__ import annotations

import argparse
import time

from bench import _common as c

DB = "scrm_bench_queue"
SHOPS, AGENT_SHOPS, CUSTOMERS, MESSAGES_PER_CONVERSATION = 20, 5, 2000, 10
TARGET_MEDIAN_MS, TARGET_RATIO = 30.0, 2.0
QUEUE_INDEXES = ("conv_queue", "conv_queue_open")
MAIN_QUERY_MARK = 'ORDER BY "inbox_conversation"."queue_key"'


def _world() -> tuple:
    from django.contrib.auth import get_user_model

    from inbox.models import Member, Organisation, ShopAccount, ShopMembership
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import customer_upsert

    org = Organisation.objects.create(name="Bench", slug="bench")
    shops = [
        ShopAccount.objects.create(
            organisation=org,
            platform="tiktok_shop",
            platform_shop_id=f"75{i:05d}",
            name=f"Shop {i}",
            region="US",
            credentials={"app_key": "k", "app_secret": "s"},
        )
        for i in range(SHOPS)
    ]
    agent = get_user_model().objects.create_user("agent", password="x")  # noqa: S106
    Member.objects.create(user=agent, organisation=org, role="agent")
    for shop in shops[:AGENT_SHOPS]:
        ShopMembership.objects.create(user=agent, shop_account=shop)
    for i in range(CUSTOMERS):
        customer_upsert(
            organisation_id=org.id,
            platform="tiktok_shop",
            buyer=Participant(
                role="BUYER", im_user_id=f"im{i}", user_id=f"u{i}", nickname=f"Buyer {i}"
            ),
        )
    return org, shops, agent


GENERATE_CONVERSATIONS = """
INSERT INTO inbox_conversation (
    organisation_id, shop_account_id, customer_id, platform_conversation_id, status, priority,
    assignee_id, unread_count, last_message_at, last_message_preview, last_buyer_message_at,
    waiting_since, queue_key, snoozed_until, can_send_message, created_at, updated_at,
    sla_due_at, row_uid)
SELECT %(org)s, shops[1 + (g %% %(n_shops)s)], customers[1 + (g * 7919) %% %(n_customers)s],
       'c' || g, st, 1 + (g %% 3 = 0)::int, NULL, (st IN ('open', 'pending'))::int * (g %% 4),
       w, (%(previews)s::text[])[1 + g %% cardinality(%(previews)s::text[])], w, ws,
       coalesce(ws, '9999-01-01'::timestamptz), NULL, true, w, w, '9999-01-01'::timestamptz,
       %(uid)s::uuid
FROM (
  SELECT g, w,
         CASE WHEN r < 30 THEN 'open' WHEN r < 40 THEN 'pending'
              WHEN r < 45 THEN 'snoozed' ELSE 'resolved' END AS st,
         CASE WHEN r < 40 AND g %% 3 <> 0 THEN w END AS ws
  FROM (
    SELECT g, (hashint4(g) & 2147483647) %% 100 AS r,
           now() - ((hashint4(g * 31) & 2147483647) %% 259200) * interval '1 second' AS w
    FROM generate_series(1, %(n)s) AS g
  ) a
) b,
(SELECT array_agg(id ORDER BY id) AS shops FROM inbox_shopaccount) s,
(SELECT array_agg(id ORDER BY id) AS customers FROM inbox_customer) cu
"""

GENERATE_MESSAGES = """
INSERT INTO inbox_message (
    conversation_id, shop_account_id, platform_message_id, direction, sender_role, type, text,
    content, is_visible, sent_at, platform_index, delivery_state, failure_reason, author_id,
    idempotency_key, synced, created_at, updated_at, row_uid)
SELECT cv.id, cv.shop_account_id, cv.platform_conversation_id || '-' || k,
       CASE WHEN k %% 2 = 1 THEN 'in' ELSE 'out' END,
       CASE WHEN k %% 2 = 1 THEN 'BUYER' ELSE 'SHOP' END, 'TEXT',
       (%(texts)s::text[])[1 + (cv.id + k) %% cardinality(%(texts)s::text[])],
       (%(contents)s::text[])[1 + (cv.id + k) %% cardinality(%(contents)s::text[])], true,
       cv.last_message_at - (%(per)s - k) * interval '5 minutes', k::text, 'received', '', NULL,
       '', true, cv.created_at, cv.created_at, %(uid)s::uuid
FROM inbox_conversation cv, generate_series(1, %(per)s) AS k
"""


def previews() -> dict[str, object]:
    """Conversations' encrypted previews for the SQL above (a pool: ``bench._common``)."""
    from inbox.models import Conversation

    texts = [f"Where is my order? #{i} It was due last week" for i in range(64)]
    return {
        "previews": c.sealed_pool(Conversation, "last_message_preview", texts),
        "uid": c.BENCH_ROW_UID,
    }


def message_texts() -> dict[str, object]:
    """Messages' encrypted text and content for the SQL above (a pool of 64 of each)."""
    from inbox.models import Message

    texts = [
        f"message {i}: the parcel has not arrived, can you check the tracking?" for i in range(64)
    ]
    return {
        "texts": c.sealed_pool(Message, "text", texts),
        "contents": c.sealed_pool(Message, "content", [{"content": t} for t in texts]),
        "uid": c.BENCH_ROW_UID,
    }


def _generate(org_id: int, n: int) -> float:
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE inbox_message, inbox_conversation_tags, inbox_conversation CASCADE")
        cur.execute(
            GENERATE_CONVERSATIONS,
            {"org": org_id, "n": n, "n_shops": SHOPS, "n_customers": CUSTOMERS, **previews()},
        )
        cur.execute(GENERATE_MESSAGES, {"per": MESSAGES_PER_CONVERSATION, **message_texts()})
        cur.execute("ANALYZE inbox_conversation")
        cur.execute("ANALYZE inbox_message")
    return time.perf_counter() - t0


def _time_api(client, runs: int) -> tuple[list[float], int]:
    timings = []
    rows = 0
    for i in range(runs + 5):
        t0 = time.perf_counter()
        response = client.get("/api/v1/conversations/")
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"queue answered {response.status_code}: {response.content[:200]}")
        if b"could not be decrypted" in response.content:
            raise RuntimeError("the queue shows values it could not decrypt: fix the seeding")
        if i >= 5:  # warm-up
            timings.append(elapsed)
        rows = len(response.json()["results"])
    return timings, rows


def _main_query(client) -> tuple[str, list]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get("/api/v1/conversations/")
    for q in ctx.captured_queries:
        if MAIN_QUERY_MARK in q["sql"]:
            return q["sql"], ctx.captured_queries
    raise RuntimeError("the queue's main query was not found")


def _time_sql(sql: str, runs: int) -> tuple[list[float], str]:
    from django.db import connection

    timings = []
    with connection.cursor() as cur:
        for i in range(runs + 5):
            t0 = time.perf_counter()
            cur.execute(sql)
            cur.fetchall()
            if i >= 5:
                timings.append((time.perf_counter() - t0) * 1000)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(r[0] for r in cur.fetchall())
    return timings, plan


def _measure(client, runs: int) -> dict:
    api, rows = _time_api(client, runs)
    sql, queries = _main_query(client)
    sql_t, plan = _time_sql(sql, runs)
    return {
        "api": api,
        "rows": rows,
        "queries": len(queries),
        "sql": sql,
        "sql_t": sql_t,
        "plan": plan,
        "uses_index": "conv_queue_open" in plan,
    }


def run(*, runs: int = 60, sizes: tuple[int, ...] = (10_000, 100_000)) -> dict:
    c.database_create(DB)
    c.setup_django(DB)
    results: dict = {}
    try:
        c.migrate()
        from django.db import connection, transaction
        from django.test import Client

        org, _shops, agent = _world()
        client = Client()
        client.force_login(agent)
        for n in sorted(sizes):
            gen = _generate(org.id, n)
            with_index = _measure(client, runs)
            with transaction.atomic():
                with connection.cursor() as cur:
                    for name in QUEUE_INDEXES:
                        cur.execute(f"DROP INDEX {name}")
                without = _measure(client, runs)
                transaction.set_rollback(True)
            results[n] = {"gen_s": gen, "index": with_index, "no_index": without}
            for label, r in (("as shipped", with_index), ("queue indexes dropped", without)):
                print(f"\n-- EXPLAIN (ANALYZE, BUFFERS), {n:,} conversations, {label}:")
                print(r["plan"])
        print("\n-- main query:\n" + results[min(sizes)]["index"]["sql"])
        rows = []
        for n in sorted(sizes):
            for label, key in (
                ("as shipped", "index"),
                ("queue indexes dropped (baseline)", "no_index"),
            ):
                r = results[n][key]
                rows.append(
                    [
                        f"{n:,} / {n * MESSAGES_PER_CONVERSATION:,}",
                        label,
                        r["rows"],
                        r["queries"],
                        c.median(r["api"]),
                        c.pct(r["api"], 95),
                        c.median(r["sql_t"]),
                        c.pct(r["sql_t"], 95),
                        "yes" if r["uses_index"] else "no",
                    ]
                )
        c.table(
            f"GET /api/v1/conversations/ first page, agent of {AGENT_SHOPS}/{SHOPS} shops, "
            f"{runs} runs ({c.machine()})",
            [
                "conversations / messages",
                "index",
                "rows",
                "queries",
                "API median ms",
                "API p95 ms",
                "SQL median ms",
                "SQL p95 ms",
                "plan reads conv_queue_open",
            ],
            rows,
        )
        if len(sizes) >= 2:
            small, big = min(sizes), max(sizes)
            b, s = results[big]["index"], results[small]["index"]
            ratio = c.median(b["api"]) / c.median(s["api"])
            met = c.median(b["api"]) <= TARGET_MEDIAN_MS and ratio <= TARGET_RATIO
            c.table(
                "Ratios and target (median <= 30 ms at 100k and <= 2x the 10k time)",
                ["figure", "value"],
                [
                    [f"API median {big:,}/{small:,}", f"{ratio:.2f}x"],
                    [
                        f"SQL median {big:,}/{small:,}",
                        f"{c.median(b['sql_t']) / c.median(s['sql_t']):.2f}x",
                    ],
                    [
                        f"API median at {big:,}: indexes dropped / as shipped",
                        f"{c.median(results[big]['no_index']['api']) / c.median(b['api']):.2f}x",
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
