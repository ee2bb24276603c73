"""An inbound message's event reaching 50 connected agent sockets through channels-redis.

    .venv/bin/python -m bench.realtime [--sockets 50] [--events 200] [--interval 0.05]

Services mode on a throw-away database (``scrm_bench_realtime``) and Redis db 15
(``BENCH_REDIS_URL``). The server (``uvicorn scrm.asgi:application``, one worker) runs as a
subprocess; 50 agent users of one shop are logged in (Django sessions) and open ``/ws/inbox/``
with the ``websockets`` package (Origin ``http://127.0.0.1:<port>``; each socket first receives
``{"type": "hello"}``). This process then publishes events the way ingestion does:
``event_publish`` inside ``transaction.atomic()`` (change-feed row, then ``group_send`` on
commit), ``--events`` times, ``--interval`` apart, each carrying its wall-clock send time. The
figure is per-socket receive latency (receive time minus the time in the event) p50/p95/max.
Baseline in the same run: a raw channels-redis ``group_send`` to plain channels in this process
(1 channel, and 50 channels in one group).

Target (issue): p95 <= 100 ms to 50 sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

from bench import _common as c

DB = "scrm_bench_realtime"
TARGET_P95_MS = 100.0
# A registered kind (scrm.events.EVENT_KINDS); only the bench's own shop sees it. Its payload
# here is the bench's own (seq, time): the schema check is off with DEBUG off, as in production.
EVENT_TYPE = "conversation.updated"


def _world(sockets: int) -> tuple[int, int, list[str]]:
    """One organisation and shop, ``sockets`` agents of it; returns (org, shop, session keys)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from inbox.models import Member, Organisation, ShopAccount, ShopMembership

    org = Organisation.objects.create(name="Bench", slug="bench")
    shop = ShopAccount.objects.create(
        organisation=org,
        platform="tiktok_shop",
        platform_shop_id="7600001",
        name="Bench shop",
        region="US",
        credentials={"app_key": "k", "app_secret": "s"},
    )
    keys = []
    for i in range(sockets):
        user = get_user_model().objects.create_user(f"agent{i}")  # unusable password: no hashing
        Member.objects.create(user=user, organisation=org, role="agent")
        ShopMembership.objects.create(user=user, shop_account=shop)
        client = Client()
        client.force_login(user)
        keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return org.id, shop.id, keys


def _publisher(org_id: int, shop_id: int, events: int, interval: float) -> threading.Thread:
    """Publish like ingestion does, from a plain thread (as a Celery worker would)."""
    from django.db import connection, transaction

    from scrm.events import event_publish

    def publish() -> None:
        try:
            for seq in range(events):
                with transaction.atomic():
                    event_publish(
                        organisation_id=org_id,
                        shop_account_id=shop_id,
                        type=EVENT_TYPE,
                        data={"seq": seq, "t": time.time()},
                    )
                time.sleep(interval)
        finally:
            connection.close()

    return threading.Thread(target=publish, name="bench-publisher", daemon=True)


async def _sockets(port: int, keys: list[str], events: int, start_publishing, timeout: float):
    import websockets

    url = f"ws://127.0.0.1:{port}/ws/inbox/"
    origin = f"http://127.0.0.1:{port}"
    conns = []
    for key in keys:
        ws = await websockets.connect(
            url, origin=origin, additional_headers={"Cookie": f"sessionid={key}"}
        )
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello}")
        conns.append(ws)
    latencies: list[list[float]] = [[] for _ in conns]

    async def receive(i: int, ws) -> None:
        while len(latencies[i]) < events:
            raw = await ws.recv()
            now = time.time()
            event = json.loads(raw)
            if event.get("type") == EVENT_TYPE:
                latencies[i].append((now - event["data"]["t"]) * 1000)

    start_publishing()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(receive(i, ws) for i, ws in enumerate(conns))), timeout
        )
    except TimeoutError:
        pass
    finally:
        for ws in conns:
            await ws.close()
    return latencies


async def _baseline(events: int, interval: float, channels: int) -> list[float]:
    """Raw channels-redis: group_send to ``channels`` plain channels, received here."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group = f"bench.base.{channels}"
    names = [await layer.new_channel() for _ in range(channels)]
    for name in names:
        await layer.group_add(group, name)
    latencies: list[float] = []
    try:
        for _ in range(events):
            t0 = time.time()
            await layer.group_send(group, {"type": "bench.ping", "t": t0})
            got = await asyncio.gather(*(layer.receive(n) for n in names))
            now = time.time()
            latencies += [(now - m["t"]) * 1000 for m in got]
            await asyncio.sleep(interval)
    finally:
        for name in names:
            await layer.group_discard(group, name)
    return latencies


def run(
    *, sockets: int = 50, events: int = 200, interval: float = 0.05, variant: str = "shipped"
) -> dict:
    c.database_create(DB)
    c.setup_django(DB)
    c.redis_flush()
    logs = Path(tempfile.mkdtemp(prefix="scrm-bench-realtime-"))
    results: dict = {}
    try:
        c.migrate()
        org_id, shop_id, keys = _world(sockets)
        timeout = events * interval + 30
        with c.server_running(DB, workers=1, log=logs / "server.log", variant=variant) as port:
            publisher = _publisher(org_id, shop_id, events, interval)
            per_socket = asyncio.run(_sockets(port, keys, events, publisher.start, timeout))
            publisher.join(timeout=30)
        flat = [x for s in per_socket for x in s]
        received = sum(len(s) for s in per_socket)
        base1 = asyncio.run(_baseline(events, interval, 1))
        base50 = asyncio.run(_baseline(events, interval, sockets))
        results = {"sockets": flat, "received": received, "base1": base1, "base50": base50}
        rows = [
            [
                f"event_publish → server → {sockets} websockets",
                f"{received:,} / {sockets * events:,}",
                c.pct(flat, 50),
                c.pct(flat, 95),
                c.pct(flat, 99),
                max(flat) if flat else float("nan"),
            ],
            [
                "baseline: raw group_send → 1 channel",
                f"{len(base1):,}",
                c.pct(base1, 50),
                c.pct(base1, 95),
                c.pct(base1, 99),
                max(base1),
            ],
            [
                f"baseline: raw group_send → {sockets} channels",
                f"{len(base50):,}",
                c.pct(base50, 50),
                c.pct(base50, 95),
                c.pct(base50, 99),
                max(base50),
            ],
        ]
        c.table(
            f"Real-time fan-out, {events} events {interval * 1000:.0f} ms apart ({c.machine()})",
            ["path", "received", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            rows,
        )
        met = received == sockets * events and c.pct(flat, 95) <= TARGET_P95_MS
        c.table(
            "Ratio and target (p95 <= 100 ms to 50 sockets)",
            ["figure", "value"],
            [
                [
                    "p95 sockets / p95 raw 50-channel group_send",
                    f"{c.pct(flat, 95) / c.pct(base50, 95):.1f}x",
                ],
                ["target", "met" if met else "NOT met"],
            ],
        )
        print(f"(logs in {logs})")
    finally:
        c.redis_flush()
        c.database_drop(DB)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--variant", default="shipped", choices=sorted(c.SETTINGS_VARIANTS))
    args = parser.parse_args(argv)
    run(
        sockets=min(args.sockets, 200),
        events=min(args.events, 2000),
        interval=max(args.interval, 0.005),
        variant=args.variant,
    )


if __name__ == "__main__":
    main()
