"""The tamper-evident audit chain on PostgreSQL (issue 15): an audit append through commit with
8 concurrent writers in one organisation (target p99 <= 2 ms), sealing throughput, and
``audit_verify`` throughput (target >= 10,000 events/s).

``.venv/bin/python -m bench.audit_chain [--writers 8] [--appends 300] [--rows 50000] [--rounds 2]
[--rate 10] [--seal-every 5]``

Writers are processes of their own (as web and worker processes are), released together by a
barrier; each append is ``audit_record`` in its own ``transaction.atomic()``, timed through the
commit, while one more process runs the seal sweep every ``--seal-every`` seconds (as beat runs
``audit_seal_sweep`` in production, where writers publish no task). The baseline, in the same run
and interleaved with it round by round, is a plain ``AuditEvent`` INSERT of the same row (same
columns, a random string where the MAC goes, no key, no task) in another organisation. Two loads:
the closed loop (each writer appends back to back: the capacity, where an append mostly waits for
the other seven's CPU on two cores) and the open loop (each writer's appends due ``--rate`` times a
second, spread over the period, timed from when each was due: the latency at a steady load).
Prints figures, the load average before and after, and drops its database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import time

from bench import _common as c

DB_NAME = "scrm_bench_audit_chain"


def _writer(
    db: str, org_id: int, mode: str, count: int, barrier, results, rate: float, phase: float
) -> None:
    """One writer process: ``count`` appends, each timed through its commit (ms). ``rate`` 0:
    back to back (the closed loop); else the i-th append is due ``phase + i / rate`` seconds
    after the start and timed from when it was due (a late start counts: the open loop)."""
    c.setup_django(db)
    from django.db import connections, transaction

    from monitoring.models import AuditEvent
    from monitoring.services import audit_record

    def plain() -> None:
        AuditEvent.objects.create(
            organisation_id=org_id, action="conversation.assigned", data={"to": 7, "shop": 3},
            shop_account_id=3, ip_digest=secrets.token_hex(16), nonce=secrets.token_hex(8),
            key_id="none", row_mac=secrets.token_hex(32),
        )  # fmt: skip

    def chained() -> None:
        audit_record(
            organisation_id=org_id, actor=None, action="conversation.assigned",
            data={"to": 7, "shop": 3}, shop_account_id=3, ip="203.0.113.9",
        )  # fmt: skip

    append = chained if mode == "chain" else plain
    with transaction.atomic():  # warm the connection and the code
        append()
    times = []
    barrier.wait(timeout=120)
    start = time.perf_counter()
    for i in range(count):
        began = time.perf_counter()
        if rate:
            due = start + phase + i / rate
            if due > began:
                time.sleep(due - began)
            began = due
        with transaction.atomic():
            append()
        times.append((time.perf_counter() - began) * 1000)
    connections.close_all()
    results.put(times)


def _sealer(db: str, org_id: int, every: float, stop, results) -> None:
    c.setup_django(db)
    from django.db import connections

    from monitoring.audit_chain.sealer import seal_organisation

    # The sweep's work for this organisation only (the baseline's rows stay unsealed: sealing
    # them would land in the chain rounds alone).
    sealed = 0
    while not stop.wait(every):
        sealed += seal_organisation(org_id)
    sealed += seal_organisation(org_id)
    connections.close_all()
    results.put(sealed)


def appends(
    db: str,
    org_id: int,
    mode: str,
    writers: int,
    count: int,
    rate: float = 0.0,
    *,
    seal_every: float = 5.0,
) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results, stop = ctx.Barrier(writers), ctx.Queue(), ctx.Event()
    sealer = None
    if mode == "chain":
        sealer = ctx.Process(target=_sealer, args=(db, org_id, seal_every, stop, results))
        sealer.start()
    procs = [
        ctx.Process(
            target=_writer,
            # Open loop: the writers' appends spread over each period, not in lockstep.
            args=(db, org_id, mode, count, barrier, results, rate, k / (writers * rate or 1)),
        )
        for k in range(writers)
    ]
    for p in procs:
        p.start()
    times: list[float] = []
    for _ in procs:
        times.extend(results.get(timeout=600))
    for p in procs:
        p.join(timeout=30)
    if sealer is not None:
        stop.set()
        results.get(timeout=120)
        sealer.join(timeout=30)
    return times


def seed_unsealed(org_id: int, rows: int) -> None:
    """``rows`` audit events through ``audit_record`` (1,000 a transaction), left unsealed for
    the timed sealer (services mode: writers publish no seal task, and no sweep runs here)."""
    from django.db import transaction

    from monitoring.services import audit_record

    for start in range(0, rows, 1000):
        with transaction.atomic():
            for i in range(start, min(rows, start + 1000)):
                audit_record(
                    organisation_id=org_id, actor=None, action="message.sent",
                    data={"conversation": i, "shop": i % 7}, shop_account_id=i % 7,
                    ip="198.51.100.7",
                )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--appends", type=int, default=300, help="per writer and round")
    parser.add_argument("--rows", type=int, default=50_000, help="sealed and verified")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--seal-every",
        type=float,
        default=5.0,
        help="seconds between the sealing process's sweeps (production: beat every 5 s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="appends a second per writer for the open loop (0: closed loop only)",
    )
    parser.add_argument("--no-appends", action="store_true", help="only seal and verify")
    args = parser.parse_args()
    print(f"machine: {c.machine()}; load average before: {os.getloadavg()}")
    c.database_create(DB_NAME)
    try:
        c.setup_django(DB_NAME)
        c.migrate()
        c.redis_flush()
        run(args)
    finally:
        c.redis_flush()
        c.database_drop(DB_NAME)
    print(f"load average after: {os.getloadavg()}")
    return 0


def run(args: argparse.Namespace) -> None:
    from inbox.models import Organisation

    chain_org = Organisation.objects.create(name="Chain", slug="chain").id
    plain_org = Organisation.objects.create(name="Plain", slug="plain").id
    if not args.no_appends:
        round_trip_floor()
        concurrent_appends(args, chain_org, plain_org)
    volume(args)


def round_trip_floor(samples: int = 100) -> None:
    """The machine's floor under an append: one ``SELECT 1`` round trip from this process back
    to back, and after 100 ms idle (as each open-loop append comes). An append through commit
    makes three (BEGIN, INSERT, COMMIT); on a VM whose idle CPUs wake slowly the second figure,
    not the application, sets what an append can reach at a low rate."""
    from django.db import connection

    rows = []
    for label, pause in (("back to back", 0.0), ("after 100 ms idle", 0.1)):
        times = []
        with connection.cursor() as cursor:
            for _ in range(samples):
                if pause:
                    time.sleep(pause)
                began = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                times.append((time.perf_counter() - began) * 1000)
        rows.append((label, samples, c.median(times), c.pct(times, 99)))
    c.table("A SELECT 1 round trip (the floor)", ["when", "n", "p50 ms", "p99 ms"], rows)


def concurrent_appends(args: argparse.Namespace, chain_org: int, plain_org: int) -> None:
    loops = [("closed loop: each writer appends back to back", 0.0)]
    if args.rate:
        total = args.rate * args.writers
        loops.append((f"open loop: {args.rate:g} appends/s per writer ({total:g}/s)", args.rate))
    for title, rate in loops:
        _loop(args, title, rate, chain_org, plain_org)


def _loop(
    args: argparse.Namespace, title: str, rate: float, chain_org: int, plain_org: int
) -> None:
    from monitoring.models import AuditEvent

    samples: dict[str, list[float]] = {"plain": [], "chain": []}
    for _ in range(args.rounds):
        for mode, org in (("plain", plain_org), ("chain", chain_org)):
            samples[mode].extend(
                appends(
                    DB_NAME, org, mode, args.writers, args.appends, rate, seal_every=args.seal_every
                )
            )
    unsealed = AuditEvent.objects.filter(organisation_id=chain_org, seq=None).count()
    rows = [
        (mode, len(t), c.median(t), c.pct(t, 90), c.pct(t, 99), max(t))
        for mode, t in samples.items()
    ]
    c.table(
        f"Audit append through commit, {args.writers} writer processes, one organisation, "
        f"{title}; the seal sweep every {args.seal_every:g} s",
        ["append", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        rows,
    )
    ratio99 = c.pct(samples["chain"], 99) / c.pct(samples["plain"], 99)
    ratio50 = c.median(samples["chain"]) / c.median(samples["plain"])
    print(f"chain/plain: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x; unsealed after: {unsealed}")


def volume(args: argparse.Namespace) -> None:
    """Wall and this process's CPU seconds (the CPU figure is what a loaded machine's wall
    time hides: the verifier is Python bound, the database's share is small)."""
    from inbox.models import Organisation
    from monitoring.audit_chain.sealer import seal_organisation

    org = Organisation.objects.create(name="Volume", slug="volume").id
    n = args.rows
    table = [_timed("audit_record, 1,000 a transaction", n, lambda: seed_unsealed(org, n))]
    table.append(_timed("seal (one sealer)", n, lambda: seal_organisation(org, max_seconds=900)))
    for run in range(3):
        table.append(_timed(f"audit_verify, run {run + 1}", n, lambda: _verified(org, n)))
    c.table(
        f"Sealing and verifying {n:,} events (CPU: this process only)",
        ["step", "wall s", "events/s (wall)", "CPU s", "events/s (CPU)"],
        table,
    )


def _verified(org: int, n: int) -> None:
    from monitoring.audit_chain.verify import chain_verify

    report = chain_verify(org)
    assert report.ok and report.checked == n, report


def _timed(step: str, count: int, work) -> list[object]:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return [step, wall, count / wall, cpu, count / cpu if cpu else float("nan")]


if __name__ == "__main__":
    raise SystemExit(main())
