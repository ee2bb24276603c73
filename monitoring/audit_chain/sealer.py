"""The sealer: chains an organisation's committed, unsealed audit rows after commit.

Writers only INSERT (with their row MAC); they publish nothing. Outside the tests the periodic
``audit_seal_sweep`` (every 5 s: ``settings.SCRM_PERIODIC_TASKS``) seals every organisation with
unsealed rows: a Celery publish after an idle moment costs a writer 1.5-2 ms, more than its whole
audit row, and was the chain's whole tail at p99 (docs/performance.md, "The audit chain"). With
eager tasks (the test suite) the writer's commit seals at once instead, through one on-commit
callback per transaction and organisation.

The sealer takes the organisation's chain-head row with ``SELECT ... FOR UPDATE SKIP LOCKED`` (one
sealer per organisation; another one skips instead of queueing), reads the unsealed rows it can see
(committed ones only), gives them the next sequence numbers in id order and a chain MAC each, moves
the head and commits. Rows are thus sealed in the order they became visible, sweep by sweep: a row
committed after a sweep is sealed after every row that sweep sealed, whatever its id (within one
sweep, rows are in id order). A sealer that skipped never loses rows: the holder looks again after
its commit and seals what came meanwhile, and the next sweep catches anything else, so every
committed row is sealed within a minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from monitoring.audit_chain.keys import audit_keys
from monitoring.audit_chain.mac import chain_mac
from monitoring.models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_SECONDS = 20.0
_UPDATE = (
    "UPDATE monitoring_auditevent SET seq = %s, chain_mac = %s, seal_key_id = %s, sealed_at = %s"
    " WHERE id = %s AND seq IS NULL"
)


class _SealNow:
    """The on-commit callback of one organisation (recognisable, so one per transaction)."""

    def __init__(self, organisation_id: int) -> None:
        self.audit_organisation_id = organisation_id

    def __call__(self) -> None:
        from monitoring.tasks import audit_seal

        audit_seal.delay(self.audit_organisation_id)  # eager: runs here, in commit order


def seal_on_commit(organisation_id: int) -> None:
    """With eager tasks, seal the organisation's rows once the current transaction commits
    (once per transaction and organisation, however many events it wrote). Otherwise nothing:
    the sweep seals them, and the writer's commit publishes no task."""
    from monitoring.tasks import audit_seal

    if not audit_seal.app.conf.task_always_eager:
        return
    pending = connection.run_on_commit if connection.in_atomic_block else []
    for entry in pending:  # (savepoint ids, callback, robust)
        if getattr(entry[1], "audit_organisation_id", None) == organisation_id:
            return
    # robust: a sealing error must not fail the caller's committed work (the sweep seals).
    transaction.on_commit(_SealNow(organisation_id), robust=True)


def seal_organisation(
    organisation_id: int,
    *,
    batch_size: int = BATCH_SIZE,
    max_seconds: float = MAX_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Seal the organisation's committed, unsealed rows; the number sealed. Returns at once
    (0) when another sealer holds the organisation's chain; never called inside a
    transaction (it commits batch by batch)."""
    sealed = 0
    stop_at = clock() + max_seconds
    while clock() < stop_at:
        count = _seal_batch(organisation_id, batch_size)
        if count is None:  # another sealer holds the head: it looks again after its commit
            break
        sealed += count
        if count < batch_size and not _unsealed(organisation_id).exists():
            break
    return sealed


def seal_sweep() -> int:
    """Seal every organisation that has unsealed rows (the periodic safety net).

    Keeps: one organisation whose sealing fails (its chain head tampered with, say: the next
    seq already taken) does not stop the others' sealing; it is logged by id and left
    unsealed, which ``audit_verify`` reports."""
    organisations = list(
        AuditEvent.objects.filter(seq=None)
        .order_by()
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    sealed = 0
    for organisation_id in organisations:
        try:
            sealed += seal_organisation(organisation_id)
        except Exception:
            logger.exception(
                "audit rows of an organisation could not be sealed",
                extra={"organisation_id": organisation_id},
            )
    return sealed


def _unsealed(organisation_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organisation_id=organisation_id, seq=None)


def _seal_batch(organisation_id: int, batch_size: int) -> int | None:
    with transaction.atomic():
        head = _head_locked(organisation_id)
        if head is None:
            return None
        rows = list(
            _unsealed(organisation_id).order_by("id").values_list("id", "row_mac")[:batch_size]
        )
        if not rows:
            return 0
        keys = audit_keys()
        key, kid = keys.signing_key, keys.signing_kid
        now = timezone.now()
        stamp = connection.ops.adapt_datetimefield_value(now)
        seq, previous = head
        updates = []
        for event_id, row in rows:
            seq += 1
            previous = chain_mac(
                key,
                previous=previous,
                organisation_id=organisation_id,
                seq=seq,
                event_id=event_id,
                row=row,
            )
            updates.append((seq, previous, kid, stamp, event_id))
        with connection.cursor() as cursor:
            cursor.executemany(_UPDATE, updates)
            changed = cursor.rowcount
        if changed not in (-1, len(updates)):  # a row sealed behind our back: change nothing
            raise RuntimeError("audit rows changed while sealing; the batch is rolled back")
        AuditChainHead.objects.filter(organisation_id=organisation_id).update(
            seq=seq, mac=previous, updated_at=now
        )
    return len(rows)


def _head_locked(organisation_id: int) -> tuple[int, str] | None:
    """The head (seq, mac), locked for this transaction; None if another sealer holds it."""
    for attempt in range(2):
        found = (
            AuditChainHead.objects.select_for_update(skip_locked=True)
            .filter(organisation_id=organisation_id)
            .values_list("seq", "mac")
            .first()
        )
        if found is not None:
            return found
        if (
            attempt == 0
            and not AuditChainHead.objects.filter(organisation_id=organisation_id).exists()
        ):
            # The organisation's first seal: make its head (a racing sealer's insert waits).
            AuditChainHead.objects.bulk_create(
                [AuditChainHead(organisation_id=organisation_id)], ignore_conflicts=True
            )
            continue
        return None
    return None
