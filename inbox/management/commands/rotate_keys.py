"""``manage.py rotate_keys``: move stored data to the newest keys (docs/customer-data.md,
"Keys and rotation").

    rotate_keys                  every encrypted value rewritten under the first key of
                                 SCRM_ENCRYPTION_KEYS, bound to its row (resumable)
    rotate_keys --check          values per key id and table; exit 0 only when every value is
                                 under the first key and no index still derives from an old one
    rotate_keys --index          every organisation's blind indexes moved to the current index
                                 master (the first of SCRM_BLIND_INDEX_KEYS)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inbox.services.key_rotation import (
    DEFAULT_BATCH,
    IndexProgress,
    TableProgress,
    key_check,
    rotate_encryption,
    rotate_indexes,
    sealed_tables,
)
from scrm.blind import current_kid
from scrm.crypto import key_ring


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


class Command(BaseCommand):
    help = "Re-encrypt stored values under the newest key, or move blind indexes to a new key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="count values per key id")
        parser.add_argument("--index", action="store_true", help="rotate blind-index keys")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per batch")
        parser.add_argument("--table", help="only this table (encryption rotation and --check)")
        parser.add_argument("--limit", type=int, help="stop after reading this many rows")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1 or (options["limit"] is not None and options["limit"] < 1):
            raise CommandError("--batch and --limit must be at least 1")
        try:
            if options["table"]:
                sealed_tables(options["table"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["check"]:
            self._check(options["table"])
        elif options["index"]:
            self._index(options["batch"])
        else:
            self._encryption(options)

    def _encryption(self, options: dict[str, Any]) -> None:
        ring = key_ring()
        self.stdout.write(f"re-encrypting under key {ring.primary_kid!r}")
        last: dict[str, float] = {}

        def report(p: TableProgress) -> None:
            # At most every few seconds per table, and at a table's end.
            if p.finished or p.seconds - last.get(p.table, -99.0) >= 5:
                last[p.table] = p.seconds
                self._line(p)

        results = rotate_encryption(
            ring,
            batch=options["batch"],
            only=options["table"],
            limit=options["limit"],
            on_batch=report,
        )
        for p in results:
            self._line(p)
        if (
            results
            and all(p.finished for p in results)
            and len(results) == len(sealed_tables(options["table"]))
        ):
            self.stdout.write(self.style.SUCCESS("done: run rotate_keys --check"))
        else:
            self.stdout.write("stopped before the end: run rotate_keys again to resume")

    def _line(self, p: TableProgress) -> None:
        extra = ""
        if p.unreadable:
            extra += f", {p.unreadable} unreadable (left as they are)"
        if p.skipped_changed:
            extra += f", {p.skipped_changed} changed meanwhile (left: already current)"
        self.stdout.write(
            f"{p.table}: rows {p.done_rows}/{p.total_rows}, {p.rewritten} values rewritten, "
            f"{p.rate:,.0f} values/s, "
            f"{'finished' if p.finished else 'left ~' + _duration(p.eta_seconds)}{extra}"
        )

    def _check(self, only: str | None) -> None:
        ring = key_ring()
        check = key_check(ring, only=only)
        for table, counter in check.counts.items():
            parts = ", ".join(f"{k}: {n}" for k, n in sorted(counter.items())) or "empty"
            self.stdout.write(f"{table}: {parts}")
        for table, n in check.behind().items():
            self.stdout.write(f"{table}: {n} values not under {check.current}")
        for kid, orgs in check.index_uses.items():
            self.stdout.write(
                f"key {kid!r} still derives the blind indexes of {orgs} organisation(s) "
                f"(index key 'e.{kid}'): it cannot be removed before rotate_keys --index "
                f"(set SCRM_BLIND_INDEX_KEYS first, or make a newer encryption key first)"
            )
        for kid, orgs in check.index_missing.items():
            self.stdout.write(
                f"index key {kid!r} of {orgs} organisation(s) is not configured: their searches "
                f"fail until it is back in SCRM_BLIND_INDEX_KEYS (or the encryption key it came "
                f"from is back in SCRM_ENCRYPTION_KEYS)"
            )
        if not check.ok:
            raise CommandError("old keys still in use: see above")
        old = [k for k in ring.keys if k != ring.primary_kid]
        self.stdout.write(
            self.style.SUCCESS(
                f"every value is under {check.current}"
                + (f"; key(s) {', '.join(old)} may be removed" if old else "")
            )
        )

    def _index(self, batch: int) -> None:
        target = current_kid()
        self.stdout.write(f"moving blind indexes to index key {target!r}")

        last: dict[str, float] = {}

        def report(p: IndexProgress) -> None:
            # At most every few seconds per step, and at a step's end.
            if not p.finished and p.seconds - last.get(p.step, -99.0) < 5:
                return
            last[p.step] = p.seconds
            self.stdout.write(
                f"{p.step}: {p.rows} rows re-indexed in {p.seconds:.1f}s"
                + (" (finished)" if p.finished else "")
            )

        moved = rotate_indexes(batch=batch, on_batch=report)
        self.stdout.write(
            self.style.SUCCESS(f"{len(moved)} organisation(s) now index under {target!r}")
        )
