"""The websocket Origin check: scheme, host and port, as Django's CSRF check compares them.

Channels' ``AllowedHostsOriginValidator`` compares the Origin's host name only, so a page on
``http://host`` or on ``https://host:8443`` could open a socket meant for ``https://host``
and read it with the victim's session cookie. Here a socket is accepted only when its Origin is

* this very server as the browser reached it: the socket's own scheme (``ws`` -> ``http``,
  ``wss`` -> ``https``; behind a TLS proxy, ``SECURE_PROXY_SSL_HEADER`` as Django reads it),
  its ``Host`` header (a host in ``ALLOWED_HOSTS``), port included; or
* a trusted origin: ``SCRM_PUBLIC_URL``'s origin, or one of ``CSRF_TRUSTED_ORIGINS`` (exact,
  or ``https://*.example.com`` for subdomains, as Django reads it).

Anything else, or no Origin at all, is refused at the handshake (HTTP 403, before any
session is read).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None if not one."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def _allowed_hosts() -> list[str]:
    # As Django's HttpRequest.get_host: with DEBUG on and nothing set, the local names.
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def _trusted(origin: str) -> bool:
    exact = {normalised_origin(settings.SCRM_PUBLIC_URL)}
    scheme, netloc = origin.split("://", 1)
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in entry:
            pattern = urlsplit(entry.lower())
            if pattern.scheme == scheme and is_same_domain(netloc, pattern.netloc.lstrip("*")):
                return True
        else:
            exact.add(normalised_origin(entry))
    return origin in exact


def origin_allowed(*, origin: str | None, scheme: str, host: str | None) -> bool:
    """Whether a websocket handshake with this ``Origin`` may proceed (see the module)."""
    origin_norm = normalised_origin(origin) if origin else None
    if origin_norm is None:
        return False
    if host:
        domain, _port = split_domain_port(host.lower())
        own_scheme = "https" if scheme in ("wss", "https") else "http"
        if (
            domain
            and validate_host(domain, _allowed_hosts())
            and normalised_origin(f"{own_scheme}://{host}") == origin_norm
        ):
            return True
    return _trusted(origin_norm)


def _scheme(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    """The socket's scheme as the browser used it: behind a TLS-terminating proxy, the header
    Django trusts for ``request.is_secure()`` (``SECURE_PROXY_SSL_HEADER``) says ``wss``."""
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        asgi_name = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        value = headers.get(asgi_name, b"").decode("latin1").split(",")[0].strip()
        if value == secure_value:
            return "wss"
    return str(scope.get("scheme", "ws"))


class OriginValidator:
    """ASGI middleware: refuse websocket handshakes whose Origin is not allowed."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin1") or None
            host = headers.get(b"host", b"").decode("latin1") or None
            if not origin_allowed(origin=origin, scheme=_scheme(scope, headers), host=host):
                return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
