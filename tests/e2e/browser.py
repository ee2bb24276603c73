"""Which Chromium the browser tests use; one rule for ``tests/e2e/conftest.py`` and for
``.ci/ensure-browser`` (which ``make test`` runs first, and installs one when this finds none).

In order: ``SCRM_CHROMIUM`` (an executable you name), Debian's ``/usr/bin/chromium`` (or a
``chromium`` / ``chromium-browser`` on ``PATH``), then Playwright's own build if
``playwright install chromium`` has downloaded it.

``python -m tests.e2e.browser`` prints the executable and exits 0, or exits 1 when there is none.
"""

from __future__ import annotations

import os
import shutil
import sys

# Where a system Chromium is looked for; SCRM_CHROMIUM_SEARCH (space-separated) replaces it.
SYSTEM_CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser")


def _executable(candidate: str) -> str | None:
    path = candidate if os.sep in candidate else shutil.which(candidate)
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def system_chromium() -> str | None:
    """``SCRM_CHROMIUM`` when set (even if wrong: naming one is a choice, the launch then says
    what is missing), else the first system Chromium found."""
    explicit = os.environ.get("SCRM_CHROMIUM")
    if explicit:
        return explicit
    search = os.environ.get("SCRM_CHROMIUM_SEARCH")
    for candidate in search.split() if search is not None else SYSTEM_CHROMIUM:
        found = _executable(candidate)
        if found:
            return found
    return None


def playwright_chromium() -> str | None:
    """Playwright's own Chromium when it has been downloaded, else None."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if path and os.path.isfile(path) else None


def find_chromium() -> str | None:
    """The executable the browser tests launch, or None when there is none at all."""
    return system_chromium() or playwright_chromium()


if __name__ == "__main__":
    found = find_chromium()
    if found is None:
        sys.exit(1)
    print(found)
