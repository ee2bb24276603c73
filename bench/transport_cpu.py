"""CPU a platform call and a socket's receipt cost, against their baselines in the same process
(issue 18): the process's HTTP pool (``scrm.http_pool``) against httpx's client and a bare
``http.client`` connection, and the Redis channel layer's receive pump (``scrm.channel_layer``)
against channels-redis's own layer.

    .venv/bin/python -m bench.transport_cpu [--calls 3000] [--sends 300] [--sockets 10]
        [--rounds 3]

HTTP: a small ASGI app served by uvicorn in a subprocess on 127.0.0.1 answers every GET with a
TikTok-shaped JSON page of three messages; each client makes ``--calls`` signed-looking GETs
(a query of five parameters, two headers) on one kept-alive connection and parses the JSON. The
figure is this process's CPU (``time.process_time``) a call: the client's own cost, the
server's not counted. Rounds alternate the clients.

Channel layer: ``--sockets`` channels of this process in one group on the benchmarks' Redis db
(``BENCH_REDIS_URL``, flushed first); ``--sends`` group sends of a three-event bundle, each
received by every socket before the next send. The figure is CPU a socket's receipt, the group
send included. Rounds alternate the layers, each on keys of its own.

Prints a table per part: median CPU µs a call (or receipt) over the rounds, each round's, and
the ratio to the first row.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import _common as c

_APP = """
PAGE = {"code": 0, "message": "Success", "request_id": "r", "data": {"messages": [
    {"id": f"m{i}", "type": "TEXT", "content": '{"content": "hello there"}',
     "create_time": 1700000000 + i, "sender": {"role": "BUYER", "im_user_id": "u1"}}
    for i in range(3)], "next_page_token": "", "has_more": False}}
import json
BODY = json.dumps(PAGE).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
"""
PATH = "/customer_service/202309/conversations/7494560109732760000/messages"
PARAMS = (
    ("app_key", "6abcd1234"),
    ("timestamp", "1733467200"),
    ("shop_cipher", "ROW_abcdefgh"),
    ("page_size", "10"),
    ("sign", "0f" * 32),
)
HEADERS = {"Content-Type": "application/json", "x-tts-access-token": "TTP_" + "x" * 40}


def _cpu_per(call: Callable[[], object], n: int) -> float:
    for _ in range(min(200, n)):
        call()
    started = time.process_time()
    for _ in range(n):
        call()
    return 1e6 * (time.process_time() - started) / n


def http_part(calls: int, rounds: int) -> str:
    import httpx

    from scrm.http_pool import Pool

    port = c.free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bench_page_app.py").write_text(_APP)
        command = [c.PYTHON, "-m", "uvicorn", "bench_page_app:app", "--port", str(port)]
        server = subprocess.Popen([*command, "--log-level", "warning"], cwd=tmp)
        try:
            c.wait_http(port, "/")
            base = f"http://127.0.0.1:{port}"
            url = base + PATH
            target = PATH + "?" + "&".join(f"{k}={v}" for k, v in PARAMS)
            raw = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

            def bare() -> object:
                raw.request("GET", target, headers=HEADERS)
                return json.loads(raw.getresponse().read())

            with (
                httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0)) as client,
                Pool(timeout=httpx.Timeout(10.0, connect=3.0)) as pool,
            ):
                clients: dict[str, Callable[[], object]] = {
                    "httpx.Client (before)": lambda: client.request(
                        "GET", url, params=PARAMS, headers=HEADERS
                    ).json(),
                    "scrm.http_pool.Pool (now)": lambda: pool.request(
                        "GET", url, params=PARAMS, headers=HEADERS
                    ).json(),
                    "http.client, bare (the floor)": bare,
                }
                figures: dict[str, list[float]] = {name: [] for name in clients}
                for _ in range(rounds):
                    for name, call in clients.items():
                        figures[name].append(_cpu_per(call, calls))
        finally:
            server.terminate()
            server.wait(10)
    return _table("A platform read's CPU in the calling process", "µs a call", figures)


def layer_part(sends: int, sockets: int, rounds: int) -> str:
    from channels_redis.core import RedisChannelLayer as Upstream

    from scrm.channel_layer import RedisChannelLayer as Ours

    c.redis_flush()
    host = {"address": c.REDIS_URL, "socket_timeout": 10}
    event = {"kind": "message.created", "data": {"x": "y" * 200}}
    message = {"type": "inbox.events", "events": [{"id": i, **event} for i in range(3)]}

    async def one(layer_class: type, tag: str) -> float:
        layer = layer_class(hosts=[host], prefix=f"scrmbench-tc-{tag}-{time.monotonic_ns()}")
        channels = [await layer.new_channel() for _ in range(sockets)]
        for channel in channels:
            await layer.group_add("shop.1", channel)
        for _ in range(20):  # warm-up
            await layer.group_send("shop.1", message)
            for channel in channels:
                await layer.receive(channel)
        started = time.process_time()
        for _ in range(sends):
            await layer.group_send("shop.1", message)
            for channel in channels:
                await layer.receive(channel)
        spent = time.process_time() - started
        await layer.flush()
        return 1e6 * spent / (sends * sockets)

    layers = {"channels-redis's layer (before)": Upstream, "scrm.channel_layer (now)": Ours}
    figures: dict[str, list[float]] = {name: [] for name in layers}
    for index in range(rounds):
        for name, layer_class in layers.items():
            figures[name].append(asyncio.run(one(layer_class, f"{index}{len(figures[name])}")))
    c.redis_flush()
    return _table(
        f"A socket's receipt of a group send ({sockets} sockets of this process)",
        "µs a receipt",
        figures,
    )


def _table(title: str, unit: str, figures: dict[str, list[float]]) -> str:
    first = statistics.median(next(iter(figures.values())))
    rows = [
        [
            name,
            f"{statistics.median(values):.1f}",
            ", ".join(f"{v:.1f}" for v in values),
            f"{statistics.median(values) / first:.2f}",
        ]
        for name, values in figures.items()
    ]
    return c.table(title, ["client", f"median {unit}", "each round", "ratio"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--sockets", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")
    print(c.machine())
    http_part(args.calls, args.rounds)  # each part prints its table (c.table)
    layer_part(args.sends, args.sockets, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
