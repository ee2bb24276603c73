"""A real HTTP receiver for alert channels' tests (a threaded ``http.server`` on 127.0.0.1) and
SLA alerts built directly (a conversation whose buyer name and message carry a marker, its
deadline, one alert), so the channels are tested without the sweep."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from inbox.models import ShopAccount
from monitoring.models import AlertChannel, Deadline, SlaAlert
from tests.inbox.builders import conversation_with_messages

MARKER = "ZQXMARKER"  # planted in the buyer's name and message text: must never leave
DUE = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 17:00 in Kuala Lumpur (UTC+8)


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers each path from its script (status, body), then 200 ``{}``."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str, *answers: tuple[int, Any]) -> None:
        self.scripts[path] = [
            (status, body if isinstance(body, bytes) else json.dumps(body).encode())
            for status, body in answers
        ]

    def answer(self, path: str) -> tuple[int, bytes]:
        with self.lock:
            script = self.scripts.get(path) or []
            return script.pop(0) if script else (200, b"{}")

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def receiver_serving(settings) -> Iterator[Receiver]:
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    settings.SCRM_PUBLIC_URL = "https://scrm.example.com"
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(
                    Received(parts.path, parse_qs(parts.query), dict(self.headers), body)
                )
            status, answer = state.answer(parts.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def alert_for(
    shop: ShopAccount,
    *,
    kind: str = "warning",
    threshold: int = 60,
    assignee=None,
    escalated: bool = False,
) -> SlaAlert:
    """A conversation (buyer and message with the marker), its first-reply deadline due at
    ``DUE`` and one alert of it; the conversation assigned to ``assignee``."""
    conversation = conversation_with_messages(
        shop,
        buyer=f"Buyer {MARKER}",
        texts=(f"my phone is 555-{MARKER}",),
        at=DUE - timedelta(hours=24),
    )
    # Only this test's deadline (the lifecycle may have opened its own for the message).
    Deadline.objects.filter(conversation=conversation).delete()
    deadline = Deadline.objects.create(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        kind="first_reply",
        conversation=conversation,
        started_at=DUE - timedelta(hours=24),
        due_at=DUE,
        next_alert_at=None,
    )
    return SlaAlert.objects.create(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        deadline=deadline,
        kind=kind,
        threshold_minutes=threshold if kind == "warning" else 0,
        assignee=assignee,
        escalated=escalated,
    )


def channel(shop: ShopAccount, kind: str, target: str, **fields: Any) -> AlertChannel:
    """A channel stored as is (the services' checks are tested on their own)."""
    return AlertChannel.objects.create(
        organisation_id=shop.organisation_id,
        kind=kind,
        name=f"{kind} channel",
        target=target,
        **fields,
    )
