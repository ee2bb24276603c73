"""The world of ``bench.queue_due``: many shop accounts of skewed sizes, conversations with
their messages and open SLA deadlines, generated in SQL (issue 14).

Generated as a restore does it: the rows first (``INSERT ... SELECT generate_series``, one
statement per table, foreign-key triggers off for the seeding session), then the secondary
indexes built again as the migrations declare them, then ``VACUUM ANALYZE``. The seeding runs on
a superuser connection to the bench database (``session_replication_role`` needs it); the code
under test uses the bench role as everywhere in bench/.
"""

from __future__ import annotations

import time

from bench import _common as c
from bench.queue_page import message_texts, previews

SHOPS, CUSTOMERS, MESSAGES_PER_CONVERSATION = 200, 2000, 10
# Shop ranks (1 = the largest) of the agents' shops: one agent with a large, a middling and two
# small shops; one with four small shops (the sparse case for a scan across shops).
AGENT_MIXED_RANKS = (2, 20, 120, 190)
AGENT_SMALL_RANKS = (150, 165, 180, 195)

# The conversation's shop: rank floor((SHOPS + 1) ** u), u uniform in [0, 1): P(rank k) is
# proportional to log((k + 1) / k), about 1 / k (Zipf): the largest shop holds ~13 %, the
# smallest ~0.1 %. Statuses as bench.queue_page: ~30 % open, 10 % pending, 5 % snoozed, the
# rest resolved; two thirds of the open and pending ones wait for an answer (waiting_since
# spread over 3 days), the rest answered. A waiting conversation's sla_due_at is the earlier of
# its two open deadlines: first reply (24 h after waiting_since) and same-day (18:00 UTC that
# day, or the next day's when the wait began after the 17:00 cut-off; weekends not skipped).
SAME_DAY = (
    "(date_trunc('day', {ws}) + CASE WHEN {ws} - date_trunc('day', {ws}) < interval '17 hours'"
    " THEN interval '18 hours' ELSE interval '42 hours' END)"
)

GENERATE_CONVERSATIONS = f"""
INSERT INTO inbox_conversation (
    organisation_id, shop_account_id, customer_id, platform_conversation_id, status, priority,
    assignee_id, unread_count, last_message_at, last_message_preview, last_buyer_message_at,
    waiting_since, queue_key, sla_due_at, snoozed_until, can_send_message, created_at,
    updated_at, row_uid)
SELECT %(org)s, shops[rank], customers[1 + (g::bigint * 7919) %% %(n_customers)s],
       'c' || g, st, 1 + (g %% 3 = 0)::int, NULL, (st IN ('open', 'pending'))::int * (g %% 4),
       w, (%(previews)s::text[])[1 + g %% cardinality(%(previews)s::text[])], w, ws,
       coalesce(ws, '9999-01-01'::timestamptz),
       coalesce(least(ws + interval '24 hours', {SAME_DAY.format(ws="ws")}),
                '9999-01-01'::timestamptz),
       NULL, true, w, w, %(uid)s::uuid
FROM (
  SELECT g, w, least(%(n_shops)s, floor(power(%(n_shops)s + 1, u))::int) AS rank,
         CASE WHEN r < 30 THEN 'open' WHEN r < 40 THEN 'pending'
              WHEN r < 45 THEN 'snoozed' ELSE 'resolved' END AS st,
         CASE WHEN r < 40 AND g %% 3 <> 0 THEN w END AS ws
  FROM (
    SELECT g, (hashint4(g) & 2147483647) %% 100 AS r,
           (hashint4(g * 101 + 7) & 2147483647) / 2147483648.0 AS u,
           now() - ((hashint4(g * 31) & 2147483647) %% 259200) * interval '1 second' AS w
    FROM generate_series(1, %(n)s) AS g
  ) a
) b,
(SELECT array_agg(id ORDER BY id) AS shops FROM inbox_shopaccount) s,
(SELECT array_agg(id ORDER BY id) AS customers FROM inbox_customer) cu
"""  # noqa: S608 (fixed text: SAME_DAY is a constant)

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

# One open reply deadline (first reply) and one same-day deadline per waiting conversation;
# next_alert_at the next of the 4 h / 1 h warnings or the due time still ahead (null once past:
# the breach counted as alerted).
GENERATE_DEADLINES = f"""
INSERT INTO monitoring_deadline (
    organisation_id, shop_account_id, kind, conversation_id, case_id, started_at, due_at,
    next_alert_at, state, closed_at, rule, created_at)
SELECT cv.organisation_id, cv.shop_account_id, k.kind, cv.id, NULL, cv.waiting_since, d.due,
       CASE WHEN d.due - interval '4 hours' > now() THEN d.due - interval '4 hours'
            WHEN d.due - interval '1 hour' > now() THEN d.due - interval '1 hour'
            WHEN d.due > now() THEN d.due END,
       'open', NULL, jsonb_build_object('warnings', jsonb_build_array(240, 60)),
       cv.waiting_since
FROM inbox_conversation cv
CROSS JOIN (VALUES ('first_reply'), ('same_day')) AS k(kind)
CROSS JOIN LATERAL (
  SELECT CASE k.kind WHEN 'first_reply' THEN cv.waiting_since + interval '24 hours'
         ELSE {SAME_DAY.format(ws="cv.waiting_since")} END AS due
) d
WHERE cv.waiting_since IS NOT NULL AND cv.status IN ('open', 'pending')
"""  # noqa: S608 (fixed text)

TABLES = ("inbox_conversation", "inbox_message", "monitoring_deadline")


def world(org_name: str = "Bench") -> dict:
    """The organisation, its 200 shops (by id = by rank), 2,000 buyers (``customer_upsert``,
    encrypted names), the two agents and a supervisor of every shop."""
    from django.contrib.auth import get_user_model

    from inbox.models import Member, Organisation, ShopAccount, ShopMembership
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import customer_upsert

    org = Organisation.objects.create(name=org_name, slug="bench")
    shops = [
        ShopAccount.objects.create(
            organisation=org,
            platform="tiktok_shop",
            platform_shop_id=f"75{i:05d}",
            name=f"Shop {i:03d}",
            region="US",
            credentials={"app_key": "k", "app_secret": "s"},
        )
        for i in range(1, SHOPS + 1)
    ]
    users = {}
    for name, role, ranks in (
        ("agent_mixed", "agent", AGENT_MIXED_RANKS),
        ("agent_small", "agent", AGENT_SMALL_RANKS),
        ("supervisor", "supervisor", ()),
    ):
        user = get_user_model().objects.create_user(name)  # unusable password: no hashing
        Member.objects.create(user=user, organisation=org, role=role)
        for rank in ranks:
            ShopMembership.objects.create(user=user, shop_account=shops[rank - 1])
        users[name] = user
    for i in range(CUSTOMERS):
        customer_upsert(
            organisation_id=org.id,
            platform="tiktok_shop",
            buyer=Participant(
                role="BUYER", im_user_id=f"im{i}", user_id=f"u{i}", nickname=f"Buyer {i}"
            ),
        )
    return {"org": org, "shops": shops, "users": users}


def _admin(db_name: str):
    import psycopg

    base = c.PG_ADMIN_URL.rsplit("/", 1)[0]
    return psycopg.connect(f"{base}/{db_name}", autocommit=True)


def _secondary_indexes(cur, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that back no constraint."""
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (table, table),
    )
    return list(cur.fetchall())


def generate(db_name: str, org_id: int, n: int) -> dict[str, float]:
    """``n`` conversations, ten messages each and their deadlines; seconds per step."""
    from django.db import connections

    connections.close_all()  # nothing of the code under test holds a lock meanwhile
    steps: dict[str, float] = {}
    with _admin(db_name) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET session_replication_role = replica")  # no FK triggers per row
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET synchronous_commit = off")
        cur.execute(f"TRUNCATE {', '.join(TABLES)}, inbox_conversation_tags CASCADE")
        indexes = {t: _secondary_indexes(cur, t) for t in TABLES}
        for table in TABLES:
            for name, _sql in indexes[table]:
                cur.execute(f'DROP INDEX "{name}"')
        params = {
            "org": org_id,
            "n": n,
            "n_shops": SHOPS,
            "n_customers": CUSTOMERS,
            **previews(),
        }
        cur.execute(GENERATE_CONVERSATIONS, params)
        cur.execute(GENERATE_DEADLINES)
        steps["conversations + deadlines"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        cur.execute(GENERATE_MESSAGES, {"per": MESSAGES_PER_CONVERSATION, **message_texts()})
        steps["messages"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        for table in TABLES:
            for _name, sql in indexes[table]:
                cur.execute(sql)
        steps["indexes"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        # As autovacuum leaves a table after inserts (the visibility map set).
        cur.execute("VACUUM ANALYZE inbox_conversation")
        cur.execute("VACUUM ANALYZE monitoring_deadline")
        cur.execute("ANALYZE inbox_message")
        steps["vacuum, analyze"] = time.perf_counter() - t3
        steps["total"] = time.perf_counter() - t0
    return steps


def counts(db_name: str, users: dict) -> dict[str, object]:
    """What was generated: rows per table, open deadlines, each view's share of the waiting."""
    with _admin(db_name) as conn, conn.cursor() as cur:
        out: dict[str, object] = {}
        for table in TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            out[table] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM inbox_conversation WHERE status IN ('open', 'pending') "
            "AND sla_due_at < '9999-01-01'"
        )
        waiting = cur.fetchone()[0]
        out["open + pending with a due time"] = waiting
        for name, user in users.items():
            cur.execute(
                "SELECT count(*) FROM inbox_conversation cv JOIN inbox_shopmembership m "
                "ON m.shop_account_id = cv.shop_account_id AND m.user_id = %s "
                "WHERE cv.status IN ('open', 'pending') AND cv.sla_due_at < '9999-01-01'",
                (user.id,),
            )
            mine = cur.fetchone()[0] if name != "supervisor" else waiting
            out[f"{name}: due rows (share)"] = f"{mine:,} ({mine / max(waiting, 1):.1%})"
    return out
