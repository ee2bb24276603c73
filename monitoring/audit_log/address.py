"""The client address of the request being served, for the audit log.

``AuditAddressMiddleware`` remembers the address (``scrm.signin.client_ip``: the rule django-axes
and the throttles use, honouring ``SCRM_TRUSTED_PROXY_COUNT``) for the duration of one request;
services pass ``ip=request_address()`` to ``audit_record``, which keeps only a keyed hash. Outside
a request (a Celery task, a management command) there is no address, and the event has none:
the system acted, not a person at a browser.

A context variable rather than a parameter threaded through every view and service: one page
and one API view call the same service, and a new entry point cannot forget to pass it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from scrm.signin import client_ip

_ADDRESS: ContextVar[str | None] = ContextVar("scrm_audit_address", default=None)


def request_address() -> str | None:
    """The current request's client address, or None outside a request."""
    return _ADDRESS.get()


class AuditAddressMiddleware:
    """Remembers the client's address while the request is served (and forgets it after)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _ADDRESS.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _ADDRESS.reset(token)
