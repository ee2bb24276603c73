"""Which outside image addresses a page may load: the platforms' image hosts, and the
simulator's own URL in the demo.

A buyer's avatar or an image message carries a URL the platform (or whoever forged a webhook)
chose. Put unchecked into ``<img src>``, it makes every agent's browser fetch an address of the
sender's choosing (tracking pixels, internal addresses, ``javascript:`` and ``data:`` tricks).
Only URLs that pass :func:`image_url_allowed` are drawn; the Content-Security-Policy's
``img-src`` (:func:`csp_image_sources`) names the same hosts, so the browser refuses the rest
even if a template forgot to check.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings

# Longer than any platform image URL seen (a signed TikTok CDN URL is ~300-400 characters).
MAX_IMAGE_URL_LENGTH = 2048
SIMULATOR_PATH = "/simulator/"
_HOST_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")


def _host_matches(host: str, pattern: str) -> bool:
    """``*.example.com`` matches any subdomain (not the bare domain, as in CSP); a pattern
    without ``*.`` matches that host only."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _simulator_allowed(url: str) -> bool:
    if not settings.SCRM_SIMULATOR_ENABLED:
        return False
    base = urlsplit(settings.SCRM_PUBLIC_URL.rstrip("/"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    path = parts.path
    return (
        parts.scheme.lower() == base.scheme.lower()
        and parts.netloc.lower() == base.netloc.lower()
        and path.startswith(base.path + SIMULATOR_PATH)
        # The browser would normalise ``/simulator/../admin/`` to a page of ours.
        and "/." not in path
        and "%2e" not in path.lower()
    )


def image_url_allowed(url: object) -> bool:
    """True when ``url`` may be drawn in an ``<img>``: https on one of
    ``SCRM_IMAGE_HOSTS`` (default port, no user info), or the demo simulator's own URL."""
    if not isinstance(url, str) or not url or len(url) > MAX_IMAGE_URL_LENGTH:
        return False
    # Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    # "java\tscript:" or "https:\\evil" would mean something else to them than to urlsplit.
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in url):
        return False
    if _simulator_allowed(url):
        return True
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme.lower() != "https" or "@" in parts.netloc or port not in (None, 443):
        return False
    host = (parts.hostname or "").lower()
    return bool(_HOST_NAME.fullmatch(host)) and any(
        _host_matches(host, p) for p in settings.SCRM_IMAGE_HOSTS
    )


def safe_image_url(url: object) -> str | None:
    """``url`` when :func:`image_url_allowed`, else None."""
    return url if isinstance(url, str) and image_url_allowed(url) else None


def csp_image_sources() -> list[str]:
    """The ``img-src`` sources for the allowed image hosts (and the simulator in the demo)."""
    sources = [f"https://{p.lower()}" for p in settings.SCRM_IMAGE_HOSTS]
    if settings.SCRM_SIMULATOR_ENABLED:
        base = urlsplit(settings.SCRM_PUBLIC_URL)
        sources.append(f"{base.scheme}://{base.netloc}")
    return sources
