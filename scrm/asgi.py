"""ASGI entry point: HTTP through Django, websockets through Channels (session-authenticated,
origin-checked on scheme, host and port by ``scrm.ws_origin``), and, when enabled, the TikTok
Shop simulator under ``/simulator/tiktok``.

The simulator is its own small ASGI app so its handlers never wait on Django's sync thread: a
Django view that calls the simulator over HTTP in this same process cannot deadlock.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")

from scrm.asgi_handler import get_asgi_application

# Django's HTTP path, its sync middleware and views run in one thread hop (scrm.asgi_handler).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from inbox.ingress import WebhookIngress  # noqa: E402
from inbox.routing import websocket_urlpatterns  # noqa: E402
from scrm.auth import websocket_auth_stack  # noqa: E402
from scrm.ws_origin import OriginValidator  # noqa: E402

logger = logging.getLogger(__name__)
SIMULATOR_PREFIX = "/simulator/tiktok"

router = ProtocolTypeRouter(
    {
        # Webhooks are answered before Django's request path (see inbox.ingress).
        "http": WebhookIngress(django_asgi_app),
        # Channels' AllowedHostsOriginValidator compares host names only (issue 10).
        "websocket": OriginValidator(websocket_auth_stack(URLRouter(websocket_urlpatterns))),
    }
)


def _simulator_app() -> Any:
    from inbox.demo import demo_simulator

    return demo_simulator(settings.SCRM_PUBLIC_URL.rstrip("/") + "/webhooks/tiktok/").asgi_app


def _start_demo_traffic() -> None:
    per_minute = float(os.environ.get("SCRM_DEMO_TRAFFIC_PER_MINUTE", "0") or 0)
    if not (settings.SCRM_SIMULATOR_ENABLED and per_minute > 0):
        return
    from inbox.demo import demo_simulator

    sim = demo_simulator(settings.SCRM_PUBLIC_URL.rstrip("/") + "/webhooks/tiktok/")
    # Wait for the server to accept connections before buyers start writing.
    threading.Timer(2.0, lambda: sim.start_traffic(per_minute=per_minute)).start()
    logger.info("simulated buyers: %.1f messages a minute", per_minute)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Everything imported so far lives as long as the process: keep it out of the
                # collector's full passes, which otherwise stall requests for tens of ms.
                gc.collect()
                gc.freeze()
                _start_demo_traffic()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # The requests are answered by now: what the batchers hold (the webhook ids
                # acknowledged in the last moments, not yet queued for processing) is handed
                # over first — a worker process of `--workers N` runs no atexit handler.
                # Then the in-process worker and scheduler (embedded mode) stop: Uvicorn ends
                # the process by re-raising SIGTERM/SIGINT after this, before `serve` resumes.
                from scrm.batching import batchers_drain
                from scrm.worker import background_stop

                loop = asyncio.get_running_loop()
                try:
                    if not await loop.run_in_executor(None, batchers_drain, 5.0):
                        logger.warning("shutdown: batches not all handed over (the sweep has them)")
                finally:
                    await loop.run_in_executor(None, background_stop)
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope.get("path", "")
    if (
        settings.SCRM_SIMULATOR_ENABLED
        and scope["type"] == "http"
        and (path == SIMULATOR_PREFIX or path.startswith(SIMULATOR_PREFIX + "/"))
    ):
        scope = dict(scope, root_path=scope.get("root_path", "") + SIMULATOR_PREFIX)
        await _simulator_app()(scope, receive, send)
        return
    await router(scope, receive, send)
