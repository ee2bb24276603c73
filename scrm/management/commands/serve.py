"""Serve HTTP and websockets with Uvicorn; in embedded mode, also run the in-process worker and
scheduler (the stand-ins for celery worker and beat), started before the server accepts a
request and stopped after it has closed. Services mode may run several worker processes
(``--workers`` or ``WEB_CONCURRENCY``); the embedded mode runs one, since its in-memory channel
layer lives in that process."""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve the inbox (HTTP + websockets) with Uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1"))
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        import uvicorn

        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if "SCRM_PUBLIC_URL" not in os.environ and urlsplit(settings.SCRM_PUBLIC_URL).port != port:
            # The settings (the public URL, the simulator's webhook address and the connector's
            # API base) were made for another port (PORT's): start again with this one, before
            # anything runs (the same interpreter, flags and arguments: ``python -m django
            # serve`` included).
            if sys.argv[1:2] != ["serve"]:
                raise CommandError(f"set PORT={port} (or SCRM_PUBLIC_URL) to serve on {port}")
            sys.stdout.flush()
            sys.stderr.flush()
            os.execve(  # noqa: S606 - this same command, its command line unchanged
                sys.executable,
                [sys.executable, *sys.orig_argv[1:]],
                {**os.environ, "PORT": str(port)},
            )
        if workers > 1 and not settings.SERVICES_MODE:
            raise CommandError(
                "the embedded mode serves from one process (its channel layer is in memory); "
                "set DATABASE_URL and REDIS_URL for several workers"
            )

        from scrm.scheduler import port_accepting, scheduler_start
        from scrm.worker import background_stop, worker_start

        if settings.SCRM_IN_PROCESS_WORKER:
            worker_start()
        if settings.SCRM_RUN_SCHEDULER:
            # Its first turn once this server listens: the first backfills call the simulator
            # mounted in it (they failed and retried while Uvicorn was still starting).
            scheduler_start(settings.SCRM_PERIODIC_TASKS, ready=port_accepting(host, port))
        try:
            # No access log: URLs carry search terms (a buyer's name) and platform signatures.
            uvicorn.run(
                "scrm.asgi:application",
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=False,
                # The client's address is the socket's: Uvicorn would otherwise take it from
                # X-Forwarded-For of any request from 127.0.0.1. Proxies are the app's business,
                # by SCRM_TRUSTED_PROXY_COUNT (scrm.signin.client_ip, DRF's NUM_PROXIES).
                proxy_headers=False,
                forwarded_allow_ips="",
                # Protocol pings to the browser (docs/configuration.md "Real time").
                ws_ping_interval=settings.SCRM_WS_PING_INTERVAL,
                ws_ping_timeout=settings.SCRM_WS_PING_TIMEOUT,
            )
        finally:
            # Normally done already, at the application's lifespan shutdown (scrm.asgi): tasks
            # running or due finish, countdowns are dropped (the sweeps find their rows).
            background_stop()
