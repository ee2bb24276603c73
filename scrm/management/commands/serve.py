"""Serve HTTP and websockets with one Uvicorn process; in embedded mode, also run the
in-process scheduler (the stand-in for celery beat)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the inbox (HTTP + websockets) with Uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        import uvicorn

        from scrm.scheduler import Scheduler

        scheduler = None
        if settings.SCRM_RUN_SCHEDULER:
            scheduler = Scheduler(settings.SCRM_PERIODIC_TASKS)
            scheduler.start()
        try:
            # One process: the embedded mode's in-memory channel layer lives in it.
            # No access log: URLs carry search terms (a buyer's name) and platform signatures.
            uvicorn.run(
                "scrm.asgi:application", host=host, port=port, log_level="info", access_log=False
            )
        finally:
            if scheduler is not None:
                scheduler.stop()
