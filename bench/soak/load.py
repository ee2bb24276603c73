"""The soak's load: buyers posting webhooks open loop, agents on their sockets and replying, the
worker's kills."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from bench import _common as c
from bench.soak.procs import Restartable
from bench.soak.world import APP_KEY, APP_SECRET

MAX_CONNECTIONS = 64
POST_TRIES = 5


# --- HTTP, one request a connection ------------------------------------------------------------
async def http_json(port: int, method: str, path: str, token: str, body: object = None):
    """(status, parsed JSON body or None) of one request with ``Authorization: Token``."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Authorization": f"Token {token}", "Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(c.raw_request(method, path, headers, data))
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        raw = await reader.readexactly(length) if length else b""
        status = int(head[9:12])
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    with contextlib.suppress(ValueError):
        return status, json.loads(raw) if raw else None
    return status, None


# --- the run's state ---------------------------------------------------------------------------
@dataclass
class Agent:
    index: int
    session: str
    token: str
    shops: list[str]
    last_id: int = 0
    seen: set = field(default_factory=set)
    todo: OrderedDict = field(default_factory=OrderedDict)
    dropped: int = 0
    reopened: int = 0
    replies: int = 0


@dataclass
class Run:
    port: int
    posted: dict = field(default_factory=dict)  # buyer platform message id -> due wall time
    shop_of: dict = field(default_factory=dict)  # buyer platform message id -> shop id
    lag_ms: list = field(default_factory=list)
    lag_due: list = field(default_factory=list)  # the due wall time of each lag_ms entry
    ack_ms: list = field(default_factory=list)
    on_socket: dict = field(default_factory=dict)  # platform message id -> sockets reached
    in_feed: set = field(default_factory=set)  # reached an agent through the feed only
    duplicate_pushes: int = 0
    alerts_received: int = 0
    statuses: dict = field(default_factory=dict)
    reposts: int = 0
    stale_connections: int = 0
    unacked: int = 0
    replies: dict = field(default_factory=dict)  # marker -> (POST wall time, status, POST ms)
    started: float = 0.0  # monotonic time the load began
    wall_start: float = 0.0  # the same, wall time
    # Socket events received by minute of the load and kind (message.created, sla.alert, ...):
    # what the server pushed, to tell a rise in its CPU from a rise in its work.
    kinds_by_minute: dict = field(default_factory=dict)
    stop_load: bool = False
    interrupted_at: float | None = None  # seconds into the load of a SIGINT or SIGTERM
    stop_all: bool = False

    def receive(self, agent: Agent, event: dict, now: float | None) -> None:
        """One event from a socket (``now``: its arrival) or the feed (``now`` None)."""
        agent.last_id = max(agent.last_id, int(event.get("id") or 0))
        kind, data = event.get("type"), event.get("data") or {}
        if now is not None:
            minute = self.kinds_by_minute.setdefault(int((now - self.wall_start) // 60), {})
            minute[kind] = minute.get(kind, 0) + 1
        if kind == "sla.alert" and now is not None:
            self.alerts_received += 1
        if kind != "message.created" or data.get("direction") != "in":
            return
        pid = data.get("platform_message_id")
        if pid not in self.posted:
            return
        if pid in agent.seen:
            self.duplicate_pushes += now is not None
            return
        agent.seen.add(pid)
        agent.todo[data["conversation_id"]] = True
        agent.todo.move_to_end(data["conversation_id"])
        if now is None:
            self.in_feed.add(pid)
            return
        self.on_socket[pid] = self.on_socket.get(pid, 0) + 1
        self.lag_ms.append((now - self.posted[pid]) * 1000)
        self.lag_due.append(self.posted[pid])


# --- buyers: open-loop webhooks ----------------------------------------------------------------
class Poster:
    """Posts signed notifications over up to MAX_CONNECTIONS keep-alive connections."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.idle: asyncio.Queue = asyncio.Queue()
        self.opened = 0
        self.tasks: set[asyncio.Task] = set()

    def post(self, body: bytes, due: float) -> None:
        task = asyncio.create_task(self._post(body, due))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, body: bytes, due: float) -> None:
        from inbox.platforms.tiktok_shop.signing import webhook_signature

        raw = c.raw_request(
            "POST",
            "/webhooks/tiktok/",
            {
                "Content-Type": "application/json",
                "Authorization": webhook_signature(APP_KEY, APP_SECRET, body),
            },
            body,
        )
        for attempt in range(POST_TRIES):
            status = await self._send(raw)
            self.run.statuses[status] = self.run.statuses.get(status, 0) + 1
            if attempt == 0:
                self.run.ack_ms.append((time.time() - due) * 1000)
            if status == 200:
                return
            self.run.reposts += 1
            await asyncio.sleep(1.0)
        self.run.unacked += 1

    async def _send(self, raw: bytes) -> int:
        """The status (0: the connection failed). A kept-alive connection the server closed
        while idle (uvicorn's keep-alive timeout) is not a failure: sent again on a new one."""
        while True:
            if self.idle.empty() and self.opened < MAX_CONNECTIONS:
                self.opened += 1
                conn = None
            else:
                conn = await self.idle.get()
            reused = conn is not None
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", self.run.port)
                conn[1].write(raw)
                status = await c._read_response(conn[0])
            except (OSError, asyncio.IncompleteReadError):
                status = 0
                if conn is not None:
                    conn[1].close()
                conn = None
            if conn is None:
                self.opened -= 1
            else:
                self.idle.put_nowait(conn)
            if status == 0 and reused:
                self.run.stale_connections += 1
                continue
            return status

    async def close(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


def outbox_take(sim) -> list[bytes]:
    with sim.lock:
        batch, sim.outbox = sim.outbox, []
    return [n.body for n in batch]


async def buyers(run: Run, sim, poster: Poster, shops: list[str], rate: float, seconds: float):
    rng = random.Random(18)
    per_shop = dict.fromkeys(shops, 0)
    start_wall = time.time() + 0.05
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    i = 0
    while not (run.stop_all or run.stop_load):  # stop_load: interrupted (a signal)
        offset = i / rate
        if offset >= seconds:
            break
        delay = start + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        shop = rng.choice(shops)
        per_shop[shop] += 1
        buyer = rng.randrange(per_shop[shop] // 3 + 1)
        _conv, pid = sim.buyer_message(
            shop, buyer_user_id=f"{shop}-b{buyer}", nickname=f"Buyer {buyer}", text=f"Hi ({i})"
        )
        run.posted[pid] = start_wall + offset
        run.shop_of[pid] = shop
        for body in outbox_take(sim):  # this message's notification and any echoes
            poster.post(body, start_wall + offset)
        i += 1
    run.stop_load = True


async def echoes(run: Run, sim, poster: Poster) -> None:
    """After the load: the simulator's echoes of replies still delivered, posted as they come."""
    while not run.stop_all:
        await asyncio.sleep(0.2)
        if run.stop_load:
            for body in outbox_take(sim):
                poster.post(body, time.time())


# --- agents ------------------------------------------------------------------------------------
async def catch_up(run: Run, agent: Agent, after: int | None = None) -> None:
    """What the change feed holds for the agent after its last id (as a reopened socket asks),
    or after ``after`` (the whole feed from 0: an event whose push was lost while later ones
    arrived lies below the last id)."""
    cursor = agent.last_id if after is None else after
    more = True
    while more:
        status, page = await http_json(
            run.port, "GET", f"/api/v1/events/?after={cursor}", agent.token
        )
        if status != 200 or not page:
            return
        for event in page["events"]:
            run.receive(agent, event, None)
        cursor = int(page["last_id"])
        more = bool(page["has_more"])


async def agent_socket(run: Run, agent: Agent, opened: asyncio.Event) -> None:
    import websockets
    from websockets.typing import Origin

    first = True
    while not run.stop_all:
        try:
            async with websockets.connect(
                f"ws://127.0.0.1:{run.port}/ws/inbox/",
                origin=Origin(f"http://127.0.0.1:{run.port}"),
                additional_headers={"Cookie": f"sessionid={agent.session}"},
                max_size=2**22,
                ping_interval=None,  # as a browser: the server pings, the client answers
            ) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if hello.get("type") != "hello":
                    raise RuntimeError(f"expected hello, got {hello}")
                if first:
                    opened.set()
                    first = False
                else:
                    agent.reopened += 1
                    await catch_up(run, agent)
                while not run.stop_all:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
                    run.receive(agent, json.loads(raw), time.time())
                return
        except (OSError, websockets.ConnectionClosed, TimeoutError):
            if run.stop_all:
                return
            agent.dropped += 1
            await asyncio.sleep(1.0)


async def agent_replies(run: Run, agent: Agent, every: float) -> None:
    rng = random.Random(1000 + agent.index)
    await asyncio.sleep(rng.uniform(0, every))
    while not run.stop_load:
        await asyncio.sleep(rng.expovariate(1 / every))
        if run.stop_load or not agent.todo:
            continue
        conversation_id, _ = agent.todo.popitem(last=True)
        agent.replies += 1
        marker = f"soak-r{agent.index}-{agent.replies}"
        t0 = time.time()
        try:
            status, _body = await http_json(
                run.port,
                "POST",
                f"/api/v1/conversations/{conversation_id}/messages/",
                agent.token,
                {"text": f"Thanks, we are on it ({marker})", "idempotency_key": marker},
            )
        except OSError:
            status = 0
        run.replies[marker] = (t0, status, (time.time() - t0) * 1000)


async def worker_kills(run: Run, worker: Restartable, seconds: float, kills: int, on_kill) -> None:
    for k in range(1, kills + 1):
        at = seconds * k / (kills + 1)
        while time.monotonic() < run.started + at:
            await asyncio.sleep(0.2)
            if run.stop_all or run.stop_load:
                return
        on_kill(k)
        await asyncio.to_thread(worker.kill)
        await asyncio.to_thread(worker.start)
