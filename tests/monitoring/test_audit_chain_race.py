"""The audit chain under concurrency on PostgreSQL: writers in several processes, each with its
own connection and its own sealer, released together, leave one valid, gap-free chain; a row
committed late is sealed after the rows committed before it, whatever its id."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from django.db import connection, connections, transaction

from monitoring.audit_chain.sealer import seal_organisation, seal_sweep
from monitoring.audit_chain.verify import chain_verify
from monitoring.models import AuditEvent
from monitoring.services import audit_record
from tests.monitoring.audit_chain_builders import verify_command
from tests.monitoring.audit_race_child import append_in_child

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 4
EACH = 40


def test_writers_in_several_processes_keep_one_gap_free_chain(world):
    if connection.vendor != "postgresql":
        pytest.skip("the race is PostgreSQL's (SQLite serialises writers)")
    # Given four processes about to write 40 events each to one organisation
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WRITERS), ctx.Queue()
    database = connection.settings_dict["NAME"]
    children = [
        ctx.Process(target=append_in_child, args=(database, world.org_a.id, EACH, barrier, results))
        for _ in range(WRITERS)
    ]
    # When they are released together (each commit running a sealer that skips a busy head)
    for child in children:
        child.start()
    outcomes = [results.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert outcomes == [EACH] * WRITERS, outcomes
    seal_sweep()  # what a skipped sealer left, as the periodic sweep would
    # Then every event is in one chain: seq 1..160, no gap, no repeat, and it verifies
    seqs = sorted(AuditEvent.objects.filter(organisation=world.org_a).values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EACH + 1))
    report = chain_verify(world.org_a.id)
    assert report.ok and report.checked == WRITERS * EACH and report.unsealed == 0
    assert verify_command()[0] == 0


def test_a_row_committed_late_is_sealed_after_the_rows_committed_before_it(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs two open write transactions (SQLite serialises writers)")
    # Given a transaction that wrote an event (the lower id) and has not committed yet
    written, release = threading.Event(), threading.Event()
    late_id: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                late_id.append(
                    audit_record(organisation_id=world.org_a.id, actor=None, action="late").pk
                )
                written.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(timeout=30)
    # When another event is written and committed, and sealed
    early = audit_record(organisation_id=world.org_a.id, actor=None, action="early")
    seal_organisation(world.org_a.id)
    # ... and only then the first transaction commits, and is sealed
    release.set()
    thread.join(timeout=30)
    seal_organisation(world.org_a.id)
    # Then the late row came after the early one in the chain, though its id is lower
    assert late_id[0] < early.pk
    seq = dict(AuditEvent.objects.filter(organisation=world.org_a).values_list("action", "seq"))
    assert seq == {"early": 1, "late": 2}
    assert chain_verify(world.org_a.id).ok
