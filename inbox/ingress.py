"""The platforms' webhook endpoint, ``POST /webhooks/<platform>/``: verify, store once, answer.

Two front doors share ``webhook_answer``:

- ``WebhookIngress``, at the ASGI layer, in front of Django (``scrm.asgi``). Webhooks need no
  session, CSRF, locale or user; Django's request path under ASGI runs sync middleware and views
  on one thread per process, which capped acks at a few hundred a second on two cores. Here
  the storing runs in a worker thread (``thread_sensitive=False``: deliveries run in parallel,
  each with a pooled database connection it returns at once); on SQLite (embedded mode) it
  runs on Django's one sync thread, as a view would, since SQLite has one writer anyway.
- ``inbox.views.webhook``, the same endpoint through Django's URLconf, for WSGI deployments and
  Django's test client.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils.datastructures import CaseInsensitiveMapping

from inbox.services.webhooks import WebhookRejected, webhook_receive
from scrm.api import error_body

logger = logging.getLogger(__name__)

# URL name → ShopAccount.platform
WEBHOOK_PLATFORMS = {"tiktok": "tiktok_shop"}
# The trailing slash is optional: a platform console may be given either form, and Django's
# APPEND_SLASH cannot redirect a POST (a 500 under DEBUG, a 301 that drops the body otherwise).
WEBHOOK_PATH = re.compile(r"^/webhooks/(?P<platform>[-a-zA-Z0-9_]+)/?$")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class WebhookAnswer:
    status: int
    body: dict[str, Any] | None = None  # JSON error envelope; None: an empty 200
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str) -> WebhookAnswer:
    return WebhookAnswer(status, error_body(code, message))


def webhook_too_large(platform: str, length: int) -> WebhookAnswer:
    logger.warning("webhook from %s refused: body of %d bytes or more", platform, length)
    return _error(413, "too_large", "Body too large.")


def webhook_answer(platform: str, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
    """What to answer a delivery to ``/webhooks/<platform>/`` (the body already read, within
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``)."""
    if platform not in WEBHOOK_PLATFORMS:
        return _error(404, "not_found", "Unknown platform.")
    try:
        receipt = webhook_receive(platform=WEBHOOK_PLATFORMS[platform], headers=headers, body=body)
    except WebhookRejected as exc:
        logger.warning("webhook from %s rejected: %s", platform, exc.code)
        return _error(exc.status, exc.code, exc.message)
    # TikTok wants a fast 200 with an empty body; duplicates are acknowledged the same way.
    return WebhookAnswer(200, headers={"X-SCRM-Event": str(receipt.event_id)})


def _answer_in_thread(platform: str, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
    close_old_connections()
    try:
        return webhook_answer(platform, headers, body)
    finally:
        # Back to the pool now: this thread may not serve a webhook again for a while.
        connections.close_all()


# A few threads are enough (each mostly waits on one INSERT) and keep the GIL, which the event
# loop needs to read the next requests, from being passed around among many.
_answer_parallel = sync_to_async(
    _answer_in_thread,
    thread_sensitive=False,
    executor=ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook"),
)
_answer_serial = sync_to_async(_answer_in_thread, thread_sensitive=True)


class WebhookIngress:
    """ASGI: ``POST /webhooks/<platform>/`` handled here, everything else passed to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = WEBHOOK_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        answer = await self._handle(match["platform"], scope, receive)
        await _respond(send, answer)

    async def _handle(self, platform: str, scope: Scope, receive: Receive) -> WebhookAnswer:
        if scope["method"] != "POST":
            answer = _error(405, "method_not_allowed", "Use POST.")
            answer.headers["Allow"] = "POST"
            return answer
        headers = CaseInsensitiveMapping(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2**31
        try:
            declared = int(headers.get("content-length") or 0)
        except ValueError:
            return _error(400, "bad_request", "Content-Length is not a number.")
        if declared > limit:
            return webhook_too_large(platform, declared)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return WebhookAnswer(400)  # the platform hung up; nothing stored
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return webhook_too_large(platform, size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        parallel = connections["default"].vendor != "sqlite"
        handle = _answer_parallel if parallel else _answer_serial
        return await handle(platform, headers, body)


async def _respond(send: Send, answer: WebhookAnswer) -> None:
    payload = b"" if answer.body is None else json.dumps(answer.body).encode()
    headers = [(b"content-length", str(len(payload)).encode())]
    if answer.body is not None:
        headers.append((b"content-type", b"application/json"))
    for name, value in answer.headers.items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
