"""The dry run of an after-sales rule over 30 days of 100,000 cases (issue 17).

    .venv/bin/python -m bench.rules_dry_run [--runs 5] [--cases 100000]

Services mode on a throw-away database (``scrm_bench_rules_dry_run``). One organisation, 5 shop
accounts, 2,000 buyers (``customer_upsert``), a supervisor; N after-sales cases generated in SQL
in one statement, requested over the last 30 days (and a tenth of them over the 30 days before,
outside the window): refund, return and refund, replacement (a third each); five reason codes
(a third "damaged"); refund amounts 1.00-60.00, nine in ten in USD, the rest in GBP; one line
with one of 50 SKUs; the buyer's reason encrypted as production stores it (row uid + a pool of
64 ciphertexts sealed for it, ``bench._common.sealed_pool``); statuses with their history, a
twentieth of them never waiting for the seller (the platform decided alone).

Timed, ``runs`` times each after one warm-up, in this process (the service, not HTTP):
- ``rule_evaluate_window`` for "damaged, refund <= 20 USD -> approve" (the headline rule);
- the same rule with reason words instead of the code (decrypts every candidate's reason);
- "the buyer's third refund this month" (the buyer-history read);
- baselines in the same process: the window's rows read with the same columns and nothing
  evaluated (the floor), and the naive way, full model instances through the ORM evaluated
  with ``facts_of`` (what the dry run's column read replaces).

Target (issue): a dry run over 30 days of 100k cases <= 5 s.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

from bench import _common as c

DB = "scrm_bench_rules_dry_run"
SHOPS, CUSTOMERS = 5, 2000
TARGET_S = 5.0
DAMAGED = "ecom_order_delivered_refund_and_return_reason_damaged"

GENERATE_CASES = """
INSERT INTO inbox_aftersalescase (
    organisation_id, shop_account_id, family, platform_case_id, kind, platform_type,
    platform_status, stage, requested_by, reason_code, buyer_reason, lines, amounts,
    seller_action, seller_deadline, arbitration_status, order_platform_id, customer_id,
    conversation_id, evidence, history, platform_created_at, platform_updated_at, created_at,
    updated_at, sla_due_at, row_uid)
SELECT %(org)s, shops[1 + (g %% %(n_shops)s)], 'return', 'r' || g, kind, ptype, status, stage,
       'BUYER', (%(reasons)s::text[])[1 + (hashint4(g * 3) & 2147483647) %% 5],
       (%(words)s::text[])[1 + g %% cardinality(%(words)s::text[])],
       jsonb_build_array(jsonb_build_object('sku_id', 'SKU-' || (g %% 50), 'seller_sku',
                                            'S' || (g %% 50), 'refund_total', amount)),
       jsonb_build_object('refund_total', amount, 'currency',
                          CASE WHEN g %% 10 = 0 THEN 'GBP' ELSE 'USD' END),
       '', NULL, '', 'o' || g, customers[1 + (g * 7919) %% %(n_customers)s], NULL, '[]'::jsonb,
       CASE WHEN g %% 20 = 0 THEN jsonb_build_array(jsonb_build_array(status, ts))
            WHEN status = pending THEN jsonb_build_array(jsonb_build_array(pending, ts))
            ELSE jsonb_build_array(jsonb_build_array(pending, ts),
                                   jsonb_build_array(status, ts + 3600)) END,
       created, created, created, created, '9999-01-01'::timestamptz, %(uid)s::uuid
FROM (
  SELECT g, created, extract(epoch FROM created)::bigint AS ts,
         to_char(1 + ((hashint4(g * 11) & 2147483647) %% 5900) / 100.0, 'FM9990.00') AS amount,
         (ARRAY['refund', 'return_and_refund', 'replacement'])[1 + g %% 3] AS kind,
         (ARRAY['REFUND', 'RETURN_AND_REFUND', 'REPLACEMENT'])[1 + g %% 3] AS ptype,
         (ARRAY['RETURN_OR_REFUND_REQUEST_PENDING', 'RETURN_OR_REFUND_REQUEST_PENDING',
                'REPLACEMENT_REQUEST_PENDING'])[1 + g %% 3] AS pending,
         CASE WHEN r < 20 THEN (ARRAY['RETURN_OR_REFUND_REQUEST_PENDING',
                                      'RETURN_OR_REFUND_REQUEST_PENDING',
                                      'REPLACEMENT_REQUEST_PENDING'])[1 + g %% 3]
              WHEN r < 80 THEN 'RETURN_OR_REFUND_REQUEST_SUCCESS'
              ELSE 'RETURN_OR_REFUND_REQUEST_COMPLETE' END AS status,
         CASE WHEN r < 20 THEN 'needs_decision' WHEN r < 80 THEN 'decided'
              ELSE 'closed' END AS stage
  FROM (SELECT g, (hashint4(g) & 2147483647) %% 100 AS r,
               now() - ((hashint4(g * 31) & 2147483647) %% (CASE WHEN g %% 10 = 0 THEN 5184000
                                                             ELSE 2592000 END))
                       * interval '1 second' AS created
        FROM generate_series(1, %(n)s) AS g) a
) b,
(SELECT array_agg(id ORDER BY id) AS shops FROM inbox_shopaccount) s,
(SELECT array_agg(id ORDER BY id) AS customers FROM inbox_customer) cu
"""


def _world() -> tuple:
    from django.contrib.auth import get_user_model

    from inbox.models import Member, Organisation, ShopAccount
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import customer_upsert

    org = Organisation.objects.create(name="Bench", slug="bench")
    for i in range(SHOPS):
        ShopAccount.objects.create(
            organisation=org,
            platform="tiktok_shop",
            platform_shop_id=f"76{i:05d}",
            name=f"Shop {i}",
            region="US",
            credentials={"app_key": "k", "app_secret": "s"},
        )
    supervisor = get_user_model().objects.create_user("supervisor", password="x")  # noqa: S106
    Member.objects.create(user=supervisor, organisation=org, role="supervisor")
    for i in range(CUSTOMERS):
        customer_upsert(
            organisation_id=org.id,
            platform="tiktok_shop",
            buyer=Participant(
                role="BUYER", im_user_id=f"im{i}", user_id=f"u{i}", nickname=f"Buyer {i}"
            ),
        )
    return org, supervisor


def _generate(org_id: int, n: int) -> float:
    from django.db import connection

    from inbox.models import AfterSalesCase

    words = [
        f"#{i} the parcel was {'damaged in transit' if i % 3 == 0 else 'the wrong size'}, "
        "please refund me"
        for i in range(64)
    ]
    reasons = [
        DAMAGED,
        "ecom_order_delivered_refund_and_return_reason_wrong_item",
        "ecom_order_delivered_refund_and_return_reason_size_not_fit",
        "ecom_order_refund_reason_not_received",
        "ecom_order_delivered_refund_and_return_reason_not_as_described",
    ]
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            GENERATE_CASES,
            {
                "org": org_id,
                "n": n,
                "n_shops": SHOPS,
                "n_customers": CUSTOMERS,
                "reasons": [reasons[0], *reasons],  # damaged twice in five draws
                "words": c.sealed_pool(AfterSalesCase, "buyer_reason", words),
                "uid": c.BENCH_ROW_UID,
            },
        )
        cur.execute("VACUUM ANALYZE inbox_aftersalescase")
    return time.perf_counter() - t0


def _rules(org, supervisor) -> dict:
    from inbox.services.rules.editing import rule_create

    base = {"kinds": ["refund", "return_and_refund"], "decision": "approve"}
    return {
        "damaged <= 20 USD -> approve (headline)": rule_create(
            actor=supervisor,
            data={
                **base,
                "name": "damaged",
                "reason_codes": [DAMAGED],
                "amount_max": "20",
                "currency": "USD",
            },
        ),
        "reason words 'damaged in transit' <= 20 USD": rule_create(
            actor=supervisor,
            data={
                **base,
                "name": "words",
                "reason_words": ["damaged in transit"],
                "amount_max": "20",
                "currency": "USD",
            },
        ),
        "third refund this month -> assign": rule_create(
            actor=supervisor,
            data={"name": "third", "refunds_month_min": 3, "assign_to": supervisor.pk},
        ),
    }


def _time(fn, runs: int) -> tuple[list[float], object]:
    out = fn()  # warm-up
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        timings.append(time.perf_counter() - t0)
    return timings, out


def _floor(rule, start, end):
    """Baseline: the window's candidate rows read, nothing evaluated."""
    from inbox.services.rules.dry_run import _candidates

    return len(list(_candidates(rule, start, end)))


def _naive(rule, start, end):
    """Baseline: full model instances through the ORM, evaluated with ``facts_of``."""
    from inbox.models import AfterSalesCase
    from inbox.services.rules.conditions import facts_of, request_seen, rule_matches

    matched = 0
    for case in AfterSalesCase.objects.filter(
        organisation_id=rule.organisation_id,
        platform_created_at__gte=start,
        platform_created_at__lt=end,
    ).iterator(chunk_size=2000):
        if request_seen(case.platform_status, case.history) and rule_matches(rule, facts_of(case)):
            matched += 1
    return matched


def run(*, runs: int = 5, n: int = 100_000) -> dict:
    c.database_create(DB)
    c.setup_django(DB)
    results: dict = {}
    try:
        c.migrate()
        from django.utils import timezone

        from inbox.services.rules.dry_run import rule_evaluate_window

        org, supervisor = _world()
        gen = _generate(org.id, n)
        end = timezone.now()
        start = end - timedelta(days=30)
        rules = _rules(org, supervisor)
        rows = []
        for label, rule in rules.items():
            timings, result = _time(lambda r=rule: rule_evaluate_window(r, start, end), runs)
            results[label] = (timings, result)
            totals = ", ".join(f"{v:.2f} {k}" for k, v in sorted(result.totals.items()))
            rows.append(
                [label, c.median(timings), max(timings), result.scanned, result.matched, totals]
            )
        headline_rule = next(iter(rules.values()))
        floor, scanned = _time(lambda: _floor(headline_rule, start, end), runs)
        naive, naive_matched = _time(lambda: _naive(headline_rule, start, end), max(1, runs // 2))
        rows.append(
            ["baseline: the window's rows read only", c.median(floor), max(floor), scanned, "", ""]
        )
        rows.append(
            [
                "baseline: ORM instances + facts_of",
                c.median(naive),
                max(naive),
                "",
                naive_matched,
                "",
            ]
        )
        c.table(
            f"Dry run over 30 days, {n:,} cases generated ({c.machine()}, load "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})",
            [
                "rule",
                "median s",
                "max s",
                "rows read (after SQL filters)",
                "matched",
                "refund total",
            ],
            rows,
        )
        headline = c.median(results[next(iter(rules))][0])
        c.table(
            "Ratios and target (a dry run over 30 days of 100k cases <= 5 s)",
            ["figure", "value"],
            [
                ["headline / rows read only", f"{headline / c.median(floor):.2f}x"],
                ["ORM instances / headline", f"{c.median(naive) / headline:.2f}x"],
                ["data generation s", f"{gen:.1f}"],
                ["target", "met" if headline <= TARGET_S else "NOT met"],
            ],
        )
    finally:
        c.redis_flush()
        c.database_drop(DB)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args(argv)
    run(runs=max(1, min(args.runs, 50)), n=max(1000, min(args.cases, 500_000)))


if __name__ == "__main__":
    main()
