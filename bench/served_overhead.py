"""What serving adds to a request (uvicorn, Django's ASGI handler): ``/healthz`` and the
queue's first page through Django, one request at a time over one keep-alive connection.

    .venv/bin/python -m bench.served_overhead [--runs 400] [--db scrm_bench_qv_small]

Uses a database seeded by ``bench.queue_views_ab seed --size 10000 --db …``. Run it in two
trees, one after the other and again, to compare handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench import _common as c


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--db", default="scrm_bench_qv_small")
    args = parser.parse_args(argv)
    c.setup_django(args.db)
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="agent_mixed"))
    key = client.cookies["sessionid"].value
    with (
        tempfile.TemporaryDirectory() as tmp,
        c.server_running(args.db, workers=1, log=Path(tmp) / "uvicorn.log") as port,
    ):
        for path, cookie in (("/healthz", ""), ("/api/v1/queue/", f"Cookie: sessionid={key}\r\n")):
            raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}\r\n".encode()
            _, latencies, statuses = asyncio.run(
                c.http_load(port, [raw] * (args.runs + 20), concurrency=1, time_limit=120)
            )
            if set(statuses) != {200}:
                raise RuntimeError(f"{path}: answers {statuses}")
            tail = sorted(latencies[20:])
            print(
                f"{path:16s} median {c.median(tail):.2f} ms  p90 {tail[int(len(tail) * 0.9)]:.2f}"
            )


if __name__ == "__main__":
    main()
