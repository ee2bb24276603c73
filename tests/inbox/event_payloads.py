"""Valid payloads for tests that follow events through the layer: each kind's documented
example (``EventKind.example``), carrying a marker so a test can tell its own events apart."""

from __future__ import annotations

import copy
from typing import Any, get_type_hints

from scrm.events import EventKind, event_kind_get

PREFIX = "marker:"


def _marker_field(kind: EventKind) -> str:
    """The kind's first plain text field: any text passes its schema there."""
    return next(key for key, tp in get_type_hints(kind.schema).items() if tp is str)


def marked(kind: EventKind | str, marker: str) -> dict[str, Any]:
    kind = event_kind_get(kind)
    data = copy.deepcopy(dict(kind.example))
    data[_marker_field(kind)] = PREFIX + marker
    return data


def marker_of(kind: EventKind | str, data: dict[str, Any]) -> str | None:
    value = data.get(_marker_field(event_kind_get(kind)))
    return value[len(PREFIX) :] if isinstance(value, str) and value.startswith(PREFIX) else None


def quoted(marker: str) -> str:
    """How the marker appears in an event's JSON text."""
    return f'"{PREFIX}{marker}"'
