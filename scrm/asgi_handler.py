"""Django's HTTP path under ASGI in one thread hop per request (``SyncChainASGIHandler``).

Django's own ``ASGIHandler`` builds its middleware chain for the event loop: the middleware
that can run async does, and each boundary with one that cannot is crossed with
``async_to_sync`` or ``sync_to_async``. Ours are sync (they read the signed-in person, their
time zone, language and session), as are the views, so a request went from the loop to a
thread (the outer middleware), back to the loop (the inner ones: messages, CSRF, clickjacking),
and to the thread again (the view). Running the chain in one hop saved 0.8–1.5 ms a request on
``/healthz`` and 0.5–1.6 ms on the queue's first page (``bench.served_overhead``, two-core
machines; docs/performance.md, "Issue 18, tenth session").

This handler builds the chain sync, as a WSGI server would, and runs it whole in the request's
thread (``thread_sensitive``: one thread per request, as Django gives each request its own
``ThreadSensitiveContext``). Everything else — reading the body, the request signals,
streaming the response, a client gone mid-request — is Django's ``ASGIHandler`` unchanged.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """As ``django.core.asgi.get_asgi_application``, with the one-hop handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
