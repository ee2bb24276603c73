"""The shop-score readiness panel for one shop with 1M messages and 100k after-sales cases in
60 days (issue 17).

    .venv/bin/python -m bench.insights_panel [--runs 40] [--conversations 250000] [--cases 100000]

Services mode on a throw-away database (``scrm_bench_insights``). One shop (Los Angeles) with
20 agents and a supervisor; 250k conversations of 4 messages (1M messages: buyer, answer,
buyer, answer; a fifth of the first answers by the platform's robot, the others by an agent;
about 8 % of the answers after 24 h), 100k return requests (85 % decided by an agent, 10 %
withdrawn, 5 % still waiting, with their open deadlines), all spread over the last 60 days and
generated in SQL (encrypted columns from ``sealed_pool`` with ``BENCH_ROW_UID``). The response
facts are derived from those rows in SQL by the facts' own rule (a request is a buyer message
after an answer; its answer the next message of the shop), as the ingestion hooks would have
written them; the daily rollup is then built by the product's own ``dirty_days_rebuild``.

Timed, in this process: ``GET /sla/insights/<shop>/`` (the page, through Django's test client)
and ``GET /api/v1/sla/insights/<shop>/``, median and p95 of ``--runs`` after 5 warm-ups.
Baselines in the same run: the same figures computed from the raw rows per view (window
functions over the messages and the cases: what a page would do without the facts), and from
the facts without the rollup. The shop's totals of the panel and of the raw computation must
agree (checked). Target (issue): the panel <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import time

from bench import _common as c

DB = "scrm_bench_insights"
TARGET_MS = 100.0
AGENTS = 20

CONVERSATIONS_SQL = """
INSERT INTO inbox_conversation (
    organisation_id, shop_account_id, customer_id, platform_conversation_id, status, priority,
    assignee_id, unread_count, last_message_at, last_message_preview, last_buyer_message_at,
    waiting_since, queue_key, sla_due_at, snoozed_until, can_send_message, created_at,
    updated_at, row_uid)
SELECT %(org)s, %(shop)s, customers[1 + (g * 7919) %% cardinality(customers)], 'c' || g,
       'resolved', 1, agents[1 + g %% cardinality(agents)], 0, w,
       (%(previews)s::text[])[1 + g %% 64], w,
       NULL, '9999-01-01'::timestamptz, '9999-01-01'::timestamptz, NULL, true, w, w,
       %(uid)s::uuid
FROM (SELECT g, now() - interval '4 days 12 hours'
                 - (pg_temp.h(g * 31) %% 4795200) * interval '1 second' AS w
      FROM generate_series(1, %(n)s) AS g) a,
     (SELECT array_agg(id ORDER BY id) AS customers FROM inbox_customer) cu,
     (SELECT %(agents)s::int[] AS agents) ag
"""

# Message k of 4: 1 buyer at w; 2 the answer after d1 (robot for a fifth: 30 s to 5 min);
# 3 the buyer again an hour later; 4 an agent's answer after d2. d1, d2: minutes to hours,
# about 8 % over 24 h.
MESSAGES_SQL = """
INSERT INTO inbox_message (
    conversation_id, shop_account_id, platform_message_id, direction, sender_role, type, text,
    content, is_visible, sent_at, platform_index, delivery_state, failure_reason, author_id,
    idempotency_key, synced, created_at, updated_at, row_uid)
SELECT cv.id, cv.shop_account_id, cv.platform_conversation_id || '-' || k,
       CASE WHEN k %% 2 = 1 THEN 'in' ELSE 'out' END,
       CASE WHEN k %% 2 = 1 THEN 'BUYER' WHEN k = 2 AND robot THEN 'ROBOT'
            ELSE 'CUSTOMER_SERVICE' END, 'TEXT',
       (%(texts)s::text[])[1 + (cv.id + k) %% 64],
       (%(contents)s::text[])[1 + (cv.id + k) %% 64], true,
       cv.created_at + CASE k WHEN 1 THEN interval '0' WHEN 2 THEN d1
                              WHEN 3 THEN d1 + interval '1 hour'
                              ELSE d1 + interval '1 hour' + d2 END,
       k::text, 'received', '', CASE WHEN k %% 2 = 0 AND NOT (k = 2 AND robot)
                                     THEN cv.assignee_id END,
       '', true, cv.created_at, cv.created_at, %(uid)s::uuid
FROM inbox_conversation cv
CROSS JOIN LATERAL (
  SELECT pg_temp.h(cv.id * 13) %% 5 = 0 AS robot,
         CASE WHEN pg_temp.h(cv.id * 17) %% 100 < 8
              THEN interval '24 hours' + (pg_temp.h(cv.id * 19) %% 86400) * interval '1 second'
              ELSE (60 + pg_temp.h(cv.id * 23) %% 28800) * interval '1 second' END AS d1,
         CASE WHEN pg_temp.h(cv.id * 29) %% 100 < 8
              THEN interval '24 hours' + (pg_temp.h(cv.id * 37) %% 86400) * interval '1 second'
              ELSE (60 + pg_temp.h(cv.id * 41) %% 14400) * interval '1 second' END AS d2
) x
CROSS JOIN generate_series(1, 4) AS k
"""

# The robot answers: 30 s to 5 min (rewritten after the insert, so d1 above stays simple).
ROBOT_FAST_SQL = """
UPDATE inbox_message
SET sent_at = m1.sent_at + (30 + pg_temp.h(inbox_message.id) %% 270) * interval '1 second'
FROM inbox_message m1
WHERE inbox_message.sender_role = 'ROBOT' AND m1.conversation_id = inbox_message.conversation_id
  AND m1.platform_index = '1'
"""

CASES_SQL = """
INSERT INTO inbox_aftersalescase (
    organisation_id, shop_account_id, family, platform_case_id, kind, platform_type,
    platform_status, stage, requested_by, reason_code, buyer_reason, lines, amounts,
    seller_action, seller_deadline, arbitration_status, order_platform_id, customer_id,
    conversation_id, evidence, history, platform_created_at, platform_updated_at, created_at,
    updated_at, sla_due_at, row_uid)
SELECT %(org)s, %(shop)s, 'return', 'r' || g, 'refund', 'REFUND',
       CASE st WHEN 'needs_decision' THEN 'RETURN_OR_REFUND_REQUEST_PENDING'
               WHEN 'decided' THEN 'AWAITING_BUYER_SHIP'
               ELSE 'RETURN_OR_REFUND_REQUEST_CANCEL' END,
       CASE st WHEN 'decided' THEN 'waiting' ELSE st END, 'BUYER', 'damaged', '', '[]'::jsonb,
       '{}'::jsonb, '', created + interval '48 hours', '', 'o' || g,
       customers[1 + (g * 7919) %% cardinality(customers)], NULL, '[]'::jsonb, '[]'::jsonb,
       created,
       CASE st WHEN 'needs_decision' THEN created ELSE created + took END,
       created, created, '9999-01-01'::timestamptz, %(uid)s::uuid
FROM (
  SELECT g, now() - interval '3 days'
            - (pg_temp.h(g * 43) %% 4924800) * interval '1 second' AS created,
         CASE WHEN r < 85 THEN 'decided' WHEN r < 95 THEN 'closed' ELSE 'needs_decision' END AS st,
         CASE WHEN pg_temp.h(g * 47) %% 100 < 10
              THEN interval '24 hours' + (pg_temp.h(g * 53) %% 172800) * interval '1 second'
              ELSE (300 + pg_temp.h(g * 59) %% 72000) * interval '1 second' END AS took
  FROM (SELECT g, pg_temp.h(g) %% 100 AS r FROM generate_series(1, %(n)s) AS g) a
) b,
(SELECT array_agg(id ORDER BY id) AS customers FROM inbox_customer) cu
"""

DEADLINES_SQL = """
INSERT INTO monitoring_deadline (
    organisation_id, shop_account_id, kind, conversation_id, case_id, started_at, due_at,
    next_alert_at, state, closed_at, rule, created_at)
SELECT organisation_id, shop_account_id, 'after_sales', NULL, id, platform_created_at,
       platform_created_at + interval '24 hours', NULL, 'open', NULL,
       '{"warnings": [240, 60]}'::jsonb, platform_created_at
FROM inbox_aftersalescase WHERE stage = 'needs_decision'
"""

# The facts' rule in SQL, over the raw rows: a chat request is a visible buyer message whose
# previous message in the conversation is not a buyer's; its answer the next message of the
# shop (a person's or the robot's). The shop-local day is the request's.
RAW_CHAT = """
WITH m AS (
  SELECT conversation_id, sent_at, direction, author_id,
         lag(direction) OVER w AS prev_direction,
         lead(sent_at) OVER w AS next_at, lead(direction) OVER w AS next_direction,
         lead(author_id) OVER w AS next_author
  FROM inbox_message WHERE shop_account_id = %(shop)s AND is_visible
  WINDOW w AS (PARTITION BY conversation_id ORDER BY sent_at, id)
)
SELECT (sent_at AT TIME ZONE %(tz)s)::date AS day, sent_at,
       CASE WHEN next_direction = 'out' THEN next_at END AS answered_at, next_author
FROM m
WHERE direction = 'in' AND (prev_direction IS NULL OR prev_direction = 'out')
  AND (sent_at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s
"""
RAW_CASES = """
SELECT (platform_created_at AT TIME ZONE %(tz)s)::date AS day, platform_created_at,
       CASE WHEN stage IN ('waiting', 'decided') THEN platform_updated_at END AS answered_at
FROM inbox_aftersalescase
WHERE shop_account_id = %(shop)s AND stage <> 'closed'
  AND (platform_created_at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s
"""
FACTS_CHAT_INSERT = """
INSERT INTO monitoring_responsefact (
    organisation_id, shop_account_id, subject, conversation_id, case_id, state, received_at,
    local_date, answered_at, seconds, automated, agent_id)
SELECT %(org)s, %(shop)s, 'chat', conversation_id, NULL,
       CASE WHEN next_direction = 'out' THEN 'answered' ELSE 'open' END, sent_at,
       (sent_at AT TIME ZONE %(tz)s)::date,
       CASE WHEN next_direction = 'out' THEN next_at END,
       CASE WHEN next_direction = 'out' THEN extract(epoch FROM next_at - sent_at)::int END,
       next_direction = 'out' AND next_author IS NULL, next_author
FROM (
  SELECT conversation_id, sent_at, direction,
         lag(direction) OVER w AS prev_direction, lead(sent_at) OVER w AS next_at,
         lead(direction) OVER w AS next_direction, lead(author_id) OVER w AS next_author
  FROM inbox_message WHERE shop_account_id = %(shop)s AND is_visible
  WINDOW w AS (PARTITION BY conversation_id ORDER BY sent_at, id)
) m
WHERE direction = 'in' AND (prev_direction IS NULL OR prev_direction = 'out')
"""
FACTS_CASES_INSERT = """
INSERT INTO monitoring_responsefact (
    organisation_id, shop_account_id, subject, conversation_id, case_id, state, received_at,
    local_date, answered_at, seconds, automated, agent_id)
SELECT organisation_id, shop_account_id, 'after_sales', NULL, id,
       CASE stage WHEN 'needs_decision' THEN 'open' WHEN 'closed' THEN 'ended'
                  ELSE 'answered' END,
       platform_created_at, (platform_created_at AT TIME ZONE %(tz)s)::date,
       CASE WHEN stage IN ('waiting', 'decided') THEN platform_updated_at END,
       CASE WHEN stage IN ('waiting', 'decided')
            THEN extract(epoch FROM platform_updated_at - platform_created_at)::int END,
       false,
       CASE WHEN stage IN ('waiting', 'decided')
            THEN (%(agents)s::int[])[1 + id %% %(n_agents)s] END
FROM inbox_aftersalescase WHERE shop_account_id = %(shop)s
"""
FACTS_AGG = """
SELECT local_date, subject, coalesce(agent_id, 0), count(*),
       count(answered_at), count(*) FILTER (WHERE seconds <= 86400),
       coalesce(sum(seconds), 0),
       percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds)
FROM monitoring_responsefact
WHERE shop_account_id = %(shop)s AND local_date BETWEEN %(start)s AND %(end)s
  AND state <> 'ended'
GROUP BY 1, 2, 3
"""


def _world():
    from django.contrib.auth import get_user_model

    from inbox.models import Member, Organisation, ShopAccount, ShopMembership
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import customer_upsert

    org = Organisation.objects.create(name="Bench", slug="bench")
    shop = ShopAccount.objects.create(
        organisation=org,
        platform="tiktok_shop",
        platform_shop_id="7500001",
        name="Big shop",
        region="US",
        time_zone="America/Los_Angeles",
    )
    users = get_user_model().objects
    agents = []
    for i in range(AGENTS):
        user = users.create_user(f"agent{i}")
        Member.objects.create(user=user, organisation=org, role="agent", display_name=f"Agent {i}")
        ShopMembership.objects.create(user=user, shop_account=shop)
        agents.append(user.id)
    supervisor = users.create_user("supervisor")
    Member.objects.create(user=supervisor, organisation=org, role="supervisor")
    for i in range(1000):
        customer_upsert(
            organisation_id=org.id,
            platform="tiktok_shop",
            buyer=Participant(role="BUYER", im_user_id=f"im{i}", user_id=f"u{i}", nickname=f"B{i}"),
        )
    return org, shop, agents, supervisor


def _seed(org, shop, agents: list[int], n_conv: int, n_cases: int) -> dict[str, float]:
    from bench.queue_due_seed import _admin
    from bench.queue_page import message_texts, previews

    steps: dict[str, float] = {}
    pool = {**previews(), **message_texts()}
    params = {
        "org": org.id,
        "shop": shop.id,
        "agents": agents,
        "n_agents": len(agents),
        "tz": shop.time_zone,
        "uid": c.BENCH_ROW_UID,
        "previews": pool["previews"],
        "texts": pool["texts"],
        "contents": pool["contents"],
    }
    from django.db import connections

    connections.close_all()
    with _admin(DB) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        # a non-negative hash of a number (the ids are bigint)
        cur.execute(
            "CREATE FUNCTION pg_temp.h(bigint) RETURNS bigint "
            "AS 'SELECT hashint8($1) & 2147483647' LANGUAGE sql IMMUTABLE"
        )
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET synchronous_commit = off")
        for name, sql, extra in (
            ("conversations", CONVERSATIONS_SQL, {"n": n_conv}),
            ("messages", MESSAGES_SQL, {}),
            ("robot times", ROBOT_FAST_SQL, {}),
            ("cases", CASES_SQL, {"n": n_cases}),
            ("deadlines", DEADLINES_SQL, {}),
            ("chat facts", FACTS_CHAT_INSERT, {}),
            ("case facts", FACTS_CASES_INSERT, {}),
        ):
            t = time.perf_counter()
            cur.execute(sql, {**params, **extra})
            steps[name] = time.perf_counter() - t
        t = time.perf_counter()
        for table in (
            "inbox_conversation",
            "inbox_message",
            "inbox_aftersalescase",
            "monitoring_responsefact",
            "monitoring_deadline",
        ):
            cur.execute(f"VACUUM ANALYZE {table}")
        steps["vacuum analyze"] = time.perf_counter() - t
    return steps


def _rollup(shop) -> float:
    """Mark every day of the facts and rebuild them with the product's own code."""
    from django.db import connection

    from monitoring.metrics.rollup import dirty_days_rebuild

    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO monitoring_metricdirtyday (shop_account_id, date) "
            "SELECT DISTINCT shop_account_id, local_date FROM monitoring_responsefact "
            "ON CONFLICT DO NOTHING"
        )
    t = time.perf_counter()
    while dirty_days_rebuild(limit=10):
        pass
    return time.perf_counter() - t


def _time(fn, runs: int) -> list[float]:
    for _ in range(5):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _raw(shop, window) -> dict[str, object]:
    """The figures from the raw rows (messages and cases), per day and in total."""
    from django.db import connection

    params = {
        "shop": shop.id,
        "tz": shop.time_zone,
        "start": window.start,
        "end": window.end,
    }
    limit = window.now.timestamp() - 86400
    totals = {"chat": [0, 0, 0, 0], "after_sales": [0, 0, 0, 0]}  # requests, counted, within, sum
    with connection.cursor() as cur:
        for subject, sql in (("chat", RAW_CHAT), ("after_sales", RAW_CASES)):
            cur.execute(sql, params)
            row = totals[subject]
            for rec in cur.fetchall():
                received, answered = rec[1], rec[2]
                row[0] += 1
                if answered is None and received.timestamp() > limit:
                    continue  # waiting, under 24 h: not counted yet
                row[1] += 1
                if answered is not None:
                    seconds = int((answered - received).total_seconds())
                    row[2] += seconds <= 86400
                    row[3] += seconds
    return totals


def _facts(shop, window) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(FACTS_AGG, {"shop": shop.id, "start": window.start, "end": window.end})
        return len(cur.fetchall())


def run(runs: int, n_conv: int, n_cases: int) -> None:
    c.database_create(DB)
    try:
        c.setup_django(DB)
        c.migrate()
        from django.conf import settings
        from django.test import Client, override_settings

        from monitoring.metrics.selectors import metric_window, shop_metrics

        t0 = time.perf_counter()
        org, shop, agents, supervisor = _world()
        steps = _seed(org, shop, agents, n_conv, n_cases)
        steps["rollup (dirty_days_rebuild)"] = _rollup(shop)
        steps["total"] = time.perf_counter() - t0
        c.table("seed (s)", ["step", "seconds"], [[k, f"{v:.1f}"] for k, v in steps.items()])
        from django.db import connection

        with connection.cursor() as cur:
            counted = {}
            for table in (
                "inbox_message",
                "inbox_aftersalescase",
                "monitoring_responsefact",
                "monitoring_metricday",
            ):
                cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
                counted[table] = cur.fetchone()[0]
        c.table("rows", ["table", "rows"], [[k, f"{v:,}"] for k, v in counted.items()])
        # The page's static links without a collected manifest (no collectstatic here); the
        # rest of production settings unchanged.
        static = override_settings(
            STORAGES={
                **settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            }
        )
        static.enable()
        client = Client()
        client.force_login(supervisor)
        page = f"/sla/insights/{shop.id}/"
        api = f"/api/v1/sla/insights/{shop.id}/"
        assert client.get(page).status_code == 200
        panel_ms = _time(lambda: client.get(page), runs)
        api_ms = _time(lambda: client.get(api), runs)
        window = metric_window(shop.time_zone)
        metrics = shop_metrics(supervisor, shop.id, now=window.now)
        raw_ms = _time(lambda: _raw(shop, window), 2)
        facts_ms = _time(lambda: _facts(shop, window), 3)
        raw = _raw(shop, window)
        f = metrics.figures
        mine = {
            "chat": [f.chat.requests, f.chat.counted, f.chat.within_24h, f.chat.seconds_sum],
            "after_sales": [
                f.after_sales.requests,
                f.after_sales.counted,
                f.after_sales.within_24h,
                f.after_sales.seconds_sum,
            ],
        }
        agree = mine == raw
        rows = [
            ["panel page (GET /sla/insights/<id>/)", c.median(panel_ms), c.pct(panel_ms, 95)],
            ["API (GET /api/v1/sla/insights/<id>/)", c.median(api_ms), c.pct(api_ms, 95)],
            ["baseline: raw rows (messages + cases)", c.median(raw_ms), max(raw_ms)],
            ["baseline: facts without the rollup", c.median(facts_ms), max(facts_ms)],
        ]
        c.table(
            f"readiness panel, {counted['inbox_message']:,} messages, "
            f"{counted['inbox_aftersalescase']:,} cases (ms)",
            ["what", "median", "p95 / max"],
            [[r[0], f"{r[1]:.1f}", f"{r[2]:.1f}"] for r in rows],
        )
        print(f"figures (requests, counted, within 24 h, seconds): panel {mine}")
        print(f"                                                  raw   {raw}  agree={agree}")
        print(
            f"first response within 24 h {f.chat.share_within_24h:.4f}, after-sales "
            f"{f.after_sales.share_within_24h:.4f}, p90 <= {f.after_sales.p90_seconds} s"
        )
        print(
            f"ratio raw/panel {c.median(raw_ms) / c.median(panel_ms):.0f}x, facts/panel "
            f"{c.median(facts_ms) / c.median(panel_ms):.1f}x; target <= {TARGET_MS:.0f} ms: "
            f"{'met' if c.median(panel_ms) <= TARGET_MS else 'NOT met'}"
        )
        print(f"load average {os.getloadavg()}; {c.machine()}")
        if not agree:
            raise SystemExit("the panel's figures differ from the raw rows'")
    finally:
        c.database_drop(DB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--conversations", type=int, default=250_000)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args(argv)
    run(
        runs=max(10, min(args.runs, 500)),
        n_conv=min(args.conversations, 1_000_000),
        n_cases=min(args.cases, 1_000_000),
    )


if __name__ == "__main__":
    main()
