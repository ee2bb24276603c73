"""The independent client's HTTP, recorded, and the checked call (see the package doc)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from tiktok_shop_api import TikTokShop, TikTokShopAuth, TikTokShopError, TokenSet
from tiktok_shop_api.generated import models as m

from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from tests.inbox.platforms import strict_models

APP_KEY, APP_SECRET = "conformance_app_key", "conformance_app_secret_0123456789"
SHOP_ID = "7000000000000000101"
BUYER = "7494000000000000001"
OTHER_BUYER = "7494000000000000002"

# The client's models of the notifications the simulator sends, by webhook type.
WEBHOOK_MODELS: dict[int, type] = {
    11: m.CancellationStatusChangeWebhook,
    12: m.ReturnStatusChangeWebhook,
    13: m.NewConversationWebhook,
    14: m.NewMessageWebhook,
}


# --- the client's HTTP, recorded ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    body: bytes


class Recorder(httpx.BaseTransport):
    """The client's transport: real HTTP, each answer's raw bytes kept for the strict check."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        try:
            body = response.read()
        finally:
            response.close()
        self.exchanges.append(
            Exchange(request.method, request.url.path, response.status_code, body)
        )
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def close(self) -> None:
        # The OAuth helper closes its transport after each call: keep the pool for the next.
        pass

    def shutdown(self) -> None:
        self._inner.close()


@dataclasses.dataclass
class TokenEnvelope:
    """The token endpoints' envelope; ``data`` is the client's own TokenSet (those two
    endpoints have no generated model: the client parses them by hand into TokenSet)."""

    code: int
    message: str
    request_id: str
    data: TokenSet


@dataclasses.dataclass
class World:
    sim: Simulator
    server: SimulatorServer
    recorder: Recorder
    auth: TikTokShopAuth
    shop: TikTokShop
    access_token: str
    refresh_token: str
    cipher: str

    def answer(self, label: str, call: Callable[[], Any], model: type) -> dict[str, Any]:
        """Make one call through the client; its raw answer, checked (see the module doc)."""
        before = len(self.recorder.exchanges)
        refused: TikTokShopError | None = None
        parsed: Any = None
        try:
            parsed = call()
        except TikTokShopError as error:
            refused = error
        sent = self.recorder.exchanges[before:]
        assert len(sent) == 1, f"{label}: one HTTP exchange expected, {len(sent)} made"
        exchange = sent[0]
        where = f"{label} ({exchange.method} {exchange.path}, HTTP {exchange.status})"
        try:
            raw = json.loads(exchange.body)
        except ValueError:
            pytest.fail(f"{where}: the answer is not JSON: {exchange.body[:200]!r}")
        if refused is not None:
            detail = ""
            if exchange.status == 200 and isinstance(raw, dict) and raw.get("code") == 0:
                detail = "\n  " + "\n  ".join(strict_models.problems(raw, model))
            pytest.fail(
                f"{where}: the client refused the answer: code {refused.code}: "
                f"{refused.message[:300]}{detail}"
            )
        strict_models.check(raw, model)
        # The client parsed it with the model's own from_dict; it must be that model.
        if model is not TokenEnvelope:
            assert isinstance(parsed, model), f"{where}: parsed as {type(parsed).__name__}"
        assert raw["code"] == 0, where
        return raw

    def refusal(self, call: Callable[[], Any]) -> TikTokShopError:
        """The client's error for a call the simulator must refuse."""
        with pytest.raises(TikTokShopError) as refused:
            call()
        return refused.value


def in_domain(value: Any, allowed: Any, where: str) -> None:
    values = {e.value for e in allowed} if isinstance(allowed, type) else set(allowed)
    assert value in values, f"{where}: {value!r} is not one of {sorted(values)}"


class Receiver:
    """A webhook endpoint: keeps each POST's headers and raw body, answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/tiktok"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
