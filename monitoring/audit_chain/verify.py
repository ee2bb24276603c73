"""Checking an organisation's audit chain (``manage.py audit_verify``).

Streams the sealed rows in ``seq`` order (one query, a server-side cursor on PostgreSQL) and
checks each row's MAC (its content) and chain MAC (its place); then the chain head (events cut
off the end), the unsealed rows (their row MACs, how many, how old) and copies of a row. The
first break is named (event id, seq, why); after a break the walk goes on from the stored chain
MAC, so every later break is counted too.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from monitoring.audit_chain.keys import AuditKeys, UnknownKey, audit_keys
from monitoring.audit_chain.mac import chain_mac, row_mac
from monitoring.models import AuditChainHead, AuditEvent

# Every committed row is sealed within this long; older unsealed rows are flagged.
SEAL_WITHIN = timedelta(minutes=1)
CHUNK = 5000
_FIELDS = (
    "id",
    "seq",
    "actor_id",
    "actor_name",
    "shop_account_id",
    "ip_digest",
    "action",
    "target_type",
    "target_id",
    "data",
    "created_at",
    "nonce",
    "key_id",
    "row_mac",
    "chain_mac",
    "seal_key_id",
)


@dataclass(frozen=True)
class Break:
    event_id: int | None
    seq: int | None
    reason: str


@dataclass
class ChainReport:
    organisation_id: int
    checked: int = 0
    first_seq: int = 0
    last_seq: int = 0
    last_mac: str = ""
    first_break: Break | None = None
    breaks: int = 0
    unsealed: int = 0
    unsealed_oldest: timedelta | None = None
    unsealed_late: int = 0

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def broken(self, event_id: int | None, seq: int | None, reason: str) -> None:
        self.breaks += 1
        if self.first_break is None:
            self.first_break = Break(event_id, seq, reason)


def organisations_with_events() -> list[int]:
    """Every organisation with audit rows or a chain head (a head without rows is a break)."""
    ids = set(AuditEvent.objects.order_by().values_list("organisation_id", flat=True).distinct())
    ids.update(AuditChainHead.objects.values_list("organisation_id", flat=True))
    return sorted(ids)


def chain_verify(
    organisation_id: int,
    *,
    from_seq: int = 1,
    checkpoint_mac: str | None = None,
    now: datetime | None = None,
    keys: AuditKeys | None = None,
) -> ChainReport:
    """Verify one organisation's chain from ``from_seq`` (trusting the stored chain MAC of the
    event before it), or from a checkpoint (``from_seq`` with the chain MAC it had then: the
    event must still have it, and the walk starts after it)."""
    keys = keys or audit_keys()
    report = ChainReport(organisation_id=organisation_id)
    start = _start(report, from_seq, checkpoint_mac)
    if start is not None:
        _walk_sealed(report, keys, *start)
        _check_head(report, from_seq)
    _check_unsealed(report, keys, now or timezone.now())
    _check_copies(report)
    return report


def _start(
    report: ChainReport, from_seq: int, checkpoint_mac: str | None
) -> tuple[int, str] | None:
    """(first seq to walk, the chain MAC before it), or None when the anchor is broken."""
    org = report.organisation_id
    anchor_seq = from_seq if checkpoint_mac is not None else from_seq - 1
    if anchor_seq < 1:
        return 1, ""
    anchor = AuditEvent.objects.filter(organisation_id=org, seq=anchor_seq).values_list(
        "id", "chain_mac"
    )
    found = anchor.first()
    if found is None:
        report.broken(None, anchor_seq, "the starting point's event is missing (deleted?)")
        return None
    if checkpoint_mac is not None and not hmac.compare_digest(found[1], checkpoint_mac):
        report.broken(found[0], anchor_seq, "the event's chain MAC is not the checkpoint's")
        return None
    return anchor_seq + 1, found[1]


def _row_mac_of(keys: AuditKeys, org: int, row: tuple[Any, ...]) -> str:
    """The row MAC that ``row``'s content gives (``row`` as ``_FIELDS`` lists it), under the
    key it names; raises ``UnknownKey`` for a key id no longer configured."""
    (
        _id,
        _seq,
        actor_id,
        actor_name,
        shop_id,
        ip,
        action,
        target_type,
        target_id,
        data,
        created_at,
        nonce,
        kid,
        *_seal,
    ) = row
    return row_mac(
        keys.key(kid),
        kid=kid,
        organisation_id=org,
        actor_id=actor_id,
        actor_name=actor_name,
        shop_account_id=shop_id,
        ip_digest=ip,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data,
        created_at=created_at,
        nonce=nonce,
    )


def _walk_sealed(report: ChainReport, keys: AuditKeys, expected: int, previous: str) -> None:
    org = report.organisation_id
    rows = (
        AuditEvent.objects.filter(organisation_id=org, seq__gte=expected)
        .order_by("seq")
        .values_list(*_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    report.first_seq = expected
    # The anchor is where the chain ends until a later event is found: a checkpoint at the
    # chain's end, nothing written since, is the head itself (not "events missing").
    report.last_seq, report.last_mac = expected - 1, previous
    compare = hmac.compare_digest
    for row in rows:
        event_id, seq = row[0], row[1]
        stored_row, stored_chain, seal_kid = row[13:16]
        report.checked += 1
        if seq != expected:
            why = (
                f"events seq {expected}..{seq - 1} are missing (deleted?)"
                if seq > expected
                else f"seq {seq} appears twice"
            )
            report.broken(event_id, seq, why)
        try:
            computed_row = _row_mac_of(keys, org, row)
            if not compare(computed_row, stored_row):
                report.broken(event_id, seq, "content changed (row MAC mismatch)")
            elif not compare(
                chain_mac(
                    keys.key(seal_kid),
                    previous=previous,
                    organisation_id=org,
                    seq=seq,
                    event_id=event_id,
                    row=stored_row,
                ),
                stored_chain,
            ):
                report.broken(
                    event_id, seq, "chain MAC mismatch (the event before it changed, or moved)"
                )
        except UnknownKey as exc:
            report.broken(event_id, seq, f"key id {exc.args[0]!r} is not configured")
        previous, expected = stored_chain, seq + 1
        report.last_seq, report.last_mac = seq, stored_chain


def _check_head(report: ChainReport, from_seq: int) -> None:
    head = (
        AuditChainHead.objects.filter(organisation_id=report.organisation_id)
        .values_list("seq", "mac")
        .first()
    )
    if head is None:
        if report.checked:
            report.broken(None, None, "the chain head is missing")
        return
    seq, mac = head
    if report.checked == 0 and seq < from_seq:
        return  # nothing sealed from there on yet
    if seq > report.last_seq:
        report.broken(
            None,
            report.last_seq + 1,
            f"events after seq {report.last_seq} are missing (the chain head is at seq {seq})",
        )
    elif seq < report.last_seq:
        report.broken(None, seq + 1, f"events beyond the chain head (seq {seq}) were added")
    elif not hmac.compare_digest(mac, report.last_mac):
        report.broken(None, seq, "the chain head's MAC is not the last event's")


def _check_unsealed(report: ChainReport, keys: AuditKeys, now: datetime) -> None:
    org = report.organisation_id
    rows = (
        AuditEvent.objects.filter(organisation_id=org, seq=None)
        .order_by("id")
        .values_list(*_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    for row in rows:
        event_id, created_at, stored_row = row[0], row[10], row[13]
        report.unsealed += 1
        age = now - created_at
        if report.unsealed_oldest is None or age > report.unsealed_oldest:
            report.unsealed_oldest = age
        if age > SEAL_WITHIN:
            report.unsealed_late += 1
        try:
            computed = _row_mac_of(keys, org, row)
        except UnknownKey as exc:
            report.broken(event_id, None, f"unsealed; key id {exc.args[0]!r} is not configured")
            continue
        if not hmac.compare_digest(computed, stored_row):
            report.broken(event_id, None, "unsealed; content changed or forged (row MAC mismatch)")


def _check_copies(report: ChainReport) -> None:
    """A byte-for-byte copy of a row has a valid row MAC; the unique constraint refuses it, so
    finding one means the constraint was dropped."""
    copies = (
        AuditEvent.objects.filter(organisation_id=report.organisation_id)
        .values("row_mac")
        .order_by()
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("row_mac", flat=True)
    )
    for mac in copies[:10]:
        later = (
            AuditEvent.objects.filter(organisation_id=report.organisation_id, row_mac=mac)
            .order_by("id")
            .values_list("id", "seq")[1:2]
        )
        for event_id, seq in later:
            report.broken(event_id, seq, "a copy of an earlier event (same row MAC)")
