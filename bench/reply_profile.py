"""Where a reply's time goes (issue 18): the agent's request and the worker's delivery, in process.

    .venv/bin/python -m bench.reply_profile [--replies 400] [--profile] [--top 30]
        [--trace 'SELECT inbox_message']

Services mode on a throw-away database (``scrm_bench_reply_profile``) and the benchmarks' Redis
db. The TikTok Shop simulator serves its API over HTTP from a thread of this process. One shop,
one agent with an API token; ``2 × --replies`` conversations are ingested from the simulator (a
buyer message each, through the webhook path). Then, a warm-up round and a measured round of
``--replies`` each:

1. **send**: the agent's ``POST /api/v1/conversations/<id>/messages/`` through Django's whole
   request path (test client: middleware, token, view, service, JSON): screening, the stored
   reply, its search tokens, audit, the change feed and the socket push, its outbox action;
2. **deliver**: the worker's task body (``deliver_outbox_action``) on each reply's action: the
   lease, the platform's Send Message (HTTP to the simulator), the reply marked sent, the
   conversation's state and wait figures refreshed, audit, events.

Baselines in the same run, the floor each is measured against: ``GET /healthz`` through the same
client (Django's request path and one ``SELECT 1``), and the platform's Send Message alone
(``ShopApi.send_message``: signing, HTTP, the simulator's work — it runs in a thread here, so its
CPU is in every delivery figure). Prints per reply: wall and CPU milliseconds, round trips and
statements, statements by shape, and with ``--profile`` cProfile of the measured deliveries and
sends. Run it on two builds to see what a change bought.
"""

from __future__ import annotations

import argparse
import cProfile
import time

from bench import _common as c
from bench.ingestion_profile import QueryCounter, _print_profile

DB = "scrm_bench_reply_profile"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replies", type=int, default=400)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--trace", default="", help="e.g. 'SELECT inbox_message'")
    args = parser.parse_args(argv)
    c.in_database(DB, lambda: run(args))
    return 0


def _agent(shop):
    """An agent on the shop with an API token; returns the token's key."""
    from django.contrib.auth import get_user_model

    from inbox.models import Member, ShopMembership
    from inbox.services.tokens import token_create

    user = get_user_model().objects.create_user("bench-agent")
    Member.objects.create(user=user, organisation=shop.organisation, role="agent")
    ShopMembership.objects.create(user=user, shop_account=shop)
    _token, key = token_create(user=user, name="bench", via="api")
    return key


def _conversations(sim, count: int, tag: str) -> list[int]:
    """``count`` new conversations with a buyer message each, through the webhook path."""
    from bench.ingestion import _notifications, _received
    from inbox.models import Conversation
    from inbox.tasks import process_webhook_events

    before = Conversation.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids = _received(_notifications(sim, count, tag, per_conversation=1))
    for start in range(0, len(ids), 50):
        process_webhook_events(ids[start : start + 50])
    made = list(
        Conversation.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True)
    )
    if len(made) != count:
        raise SystemExit(f"expected {count} conversations, got {len(made)}")
    return made


class Phase:
    """Wall, CPU and statements of one measured loop."""

    def __init__(self, trace: str = "", profile: bool = False) -> None:
        self.queries = QueryCounter(trace)
        self.profiler = cProfile.Profile() if profile else None
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Phase:
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self.queries)
        self._wrapper.__enter__()
        if self.profiler is not None:
            self.profiler.enable()
        self._t = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._t[0]
        self.cpu = time.process_time() - self._t[1]
        if self.profiler is not None:
            self.profiler.disable()
        self._wrapper.__exit__(*exc)

    def row(self, label: str, n: int, base: Phase | None = None) -> list:
        ratio = (self.cpu / n) / (base.cpu / n) if base is not None and base.cpu else ""
        return [
            label, n, self.wall / n * 1000, self.cpu / n * 1000, ratio,
            self.queries.count / n, self.queries.statements / n,
        ]  # fmt: skip


def run(args: argparse.Namespace) -> None:
    from django.test import Client

    from bench.ingestion import _simulator_served, _world
    from inbox.models import Message, OutboxAction
    from inbox.platforms.base import OutgoingMessage
    from inbox.services.ingestion import shop_api
    from inbox.tasks import deliver_outbox_action

    shop, sim = _world("")
    with _simulator_served(sim):
        key = _agent(shop)
        client = Client(headers={"Authorization": f"Token {key}"})
        api = shop_api(shop)
        n = args.replies
        for label in ("warm-up", "measured"):
            conversations = _conversations(sim, n, label)
            platform_ids = dict(
                shop.conversations.filter(id__in=conversations).values_list(
                    "id", "platform_conversation_id"
                )
            )
            measured = label == "measured"
            health = Phase()
            with health:
                for _ in conversations:
                    response = client.get("/healthz")
                    assert response.status_code == 200, response.status_code
            send = Phase(args.trace, args.profile and measured)
            with send:
                for i, conversation_id in enumerate(conversations):
                    response = client.post(
                        f"/api/v1/conversations/{conversation_id}/messages/",
                        {"text": f"Thanks, we are on it ({label} {i})",
                         "idempotency_key": f"{label}-{i}"},
                        content_type="application/json",
                    )  # fmt: skip
                    assert response.status_code == 201, (response.status_code, response.content)
            actions = list(
                OutboxAction.objects.filter(kind="reply", conversation_id__in=conversations)
                .order_by("id")
                .values_list("id", flat=True)
            )
            deliver = Phase(args.trace, args.profile and measured)
            with deliver:
                for action_id in actions:
                    state = deliver_outbox_action(action_id)
                    assert state == "sent", state
            platform = Phase()
            with platform:
                for i, conversation_id in enumerate(conversations):
                    api.send_message(
                        platform_ids[conversation_id],
                        OutgoingMessage(type="TEXT", content={"content": f"baseline {label} {i}"}),
                    )
            sent = Message.objects.filter(
                conversation_id__in=conversations, direction="out", delivery_state="sent"
            ).count()
            if sent != n:
                raise SystemExit(f"{n - sent} replies not sent")
            with sim.lock:  # the platform's echoes of the replies: not this bench's subject
                sim.outbox = []
            if not measured:
                continue
            c.table(
                f"{n} replies: the agent's request and the worker's delivery, per reply "
                "(the simulator's CPU is in the delivery and platform rows: it runs in a thread "
                "here)",
                ["step", "replies", "wall ms", "CPU ms", "CPU × floor", "round trips",
                 "statements"],
                [
                    health.row("floor: GET /healthz", n),
                    send.row("send: POST …/messages/", n, health),
                    platform.row("floor: the platform's Send Message", n),
                    deliver.row("deliver: the task's body", n, platform),
                ],
            )  # fmt: skip
            for name, phase in (("send", send), ("deliver", deliver)):
                c.table(
                    f"{name}: SQL statements per reply, by verb and first table",
                    ["statement", "per reply", "total"],
                    [[shape, k / n, k] for shape, k in phase.queries.shapes.most_common()],
                )
                if phase.queries.sites:
                    c.table(
                        f"{name}: where '{args.trace}' statements come from",
                        ["call site (innermost first)", "per reply"],
                        [[site, k / n] for site, k in phase.queries.sites.most_common()],
                    )
                if phase.profiler is not None:
                    print(f"\n## {name}")
                    _print_profile(phase.profiler, args.top)


if __name__ == "__main__":
    raise SystemExit(main())
