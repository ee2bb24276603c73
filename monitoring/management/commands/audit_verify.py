"""``manage.py audit_verify [--organisation ID] [--from SEQ | --from SEQ:CHAINMAC]``

Checks the audit chain of every organisation (or one): each row's MAC, the chain, the chain
head, the unsealed rows. Names the first broken event of each organisation (id, seq, why) and
ends with a checkpoint per organisation (``SEQ:CHAINMAC``) to keep outside the database and pass
to ``--from`` next time. Exit status: 0 intact, 1 broken, 2 intact but rows unsealed for
longer than a minute (the sealer is not running).
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.audit_chain.verify import ChainReport, chain_verify, organisations_with_events

_FROM = re.compile(r"^(?P<seq>[1-9][0-9]*)(?::(?P<mac>[0-9a-f]{64}))?$")


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain; name the first broken event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", type=int, help="only this organisation's chain")
        parser.add_argument(
            "--from",
            dest="start",
            help="SEQ (check from that event on) or a checkpoint SEQ:CHAINMAC printed earlier "
            "(that event must still carry it; checked after it); needs --organisation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from_seq, checkpoint = 1, None
        if options["start"]:
            match = _FROM.match(options["start"].strip().lower())
            if not match:
                raise CommandError("--from takes SEQ or SEQ:CHAINMAC (64 hex digits)")
            if options["organisation"] is None:
                raise CommandError("--from needs --organisation (sequences are per organisation)")
            from_seq, checkpoint = int(match["seq"]), match["mac"]
        organisations = (
            [options["organisation"]]
            if options["organisation"] is not None
            else organisations_with_events()
        )
        began = time.perf_counter()
        reports = [
            chain_verify(org, from_seq=from_seq, checkpoint_mac=checkpoint) for org in organisations
        ]
        seconds = time.perf_counter() - began
        for report in reports:
            self._print(report)
        checked = sum(r.checked + r.unsealed for r in reports)
        rate = checked / seconds if seconds > 0 else 0.0
        self.stdout.write(
            f"{checked} events of {len(reports)} organisation(s) verified in {seconds:.2f} s "
            f"({rate:,.0f} events/s)."
        )
        if any(not r.ok for r in reports):
            raise CommandError("the audit chain is BROKEN (see above)", returncode=1)
        if any(r.unsealed_late for r in reports):
            raise CommandError(
                "audit rows unsealed for more than a minute: is the seal sweep running?",
                returncode=2,
            )

    def _print(self, r: ChainReport) -> None:
        head = f"organisation {r.organisation_id}: "
        if r.first_break is None:
            span = f"seq {r.first_seq}-{r.last_seq}" if r.checked else "none sealed"
            self.stdout.write(f"{head}OK, {r.checked} sealed events checked ({span})")
        else:
            b = r.first_break
            where = f"event id {b.event_id}" if b.event_id is not None else "no event"
            seq = f"seq {b.seq}" if b.seq is not None else "unsealed"
            self.stdout.write(
                f"{head}BROKEN at {where} ({seq}): {b.reason}; {r.breaks} break(s) in all, "
                f"{r.checked} sealed events checked"
            )
        if r.unsealed:
            oldest = r.unsealed_oldest.total_seconds() if r.unsealed_oldest else 0.0
            late = f", {r.unsealed_late} LATE (older than a minute)" if r.unsealed_late else ""
            self.stdout.write(f"  unsealed: {r.unsealed} (oldest {oldest:.0f} s){late}")
        if r.last_seq:
            self.stdout.write(f"  checkpoint: {r.last_seq}:{r.last_mac}")
