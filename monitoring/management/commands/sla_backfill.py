"""``manage.py sla_backfill``: open the SLA deadlines of requests that were already waiting when
the tracker was installed (run once after upgrading; harmless to run again)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from monitoring.sla.backfill import deadlines_backfill


class Command(BaseCommand):
    help = "Open the SLA deadlines of conversations and cases already waiting (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = deadlines_backfill()
        self.stdout.write(
            f"deadlines opened for {result.conversations} conversation(s) and "
            f"{result.cases} case(s)"
        )
