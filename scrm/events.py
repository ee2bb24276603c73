"""Real-time events: named kinds with a payload schema, one publishing choke point, and the
shaping of each payload for the person who receives it.

Every app registers its kinds (``event_kind_register``, at import of its ``events`` module) and
publishes them through :func:`event_publish`, which writes the change-feed row in the caller's
transaction and pushes the event to its group after commit (Zulip's ``send_event_on_commit``).
No app imports another app's services to publish: this module is the meeting point, and the
feed row model (``inbox.InboxEvent``) is looked up lazily.

Receivers (channel-layer groups), one per kind's audience:

* ``shop.<id>``: everyone who works on that shop account (its agents, the organisation's
  supervisors and admins);
* ``user.<id>``: one person's open sockets;
* ``org.<id>.supervisors``: the supervisors and admins of one organisation (joined and left as
  their role changes, on open sockets too).

The contract (docs/api.md, "Websocket"): each kind names a ``TypedDict`` schema; with
``SCRM_EVENTS_CHECK_SCHEMA`` on (development and tests) a payload that does not match it is
refused at publish time, like Zulip's ``event_schema.py`` checks in ``verify_action``. In
production the check is off: a drift is a test failure, never a lost event.

Shaping: a kind whose payload carries personal fields (a buyer's name, message text) has a
shaper, ``(data, viewer) -> data``, applied for each receiver — by the websocket consumer for
every socket, and by the change feed for every reader — so what one person sees can differ from
what another sees. No kind carries a phone, an e-mail, an address or a real name today (the
buyer's name in events is the platform nickname, which stays visible; docs/customer-data.md,
"Masking and reveal"): a kind that adds one masks it in its shaper, and
tests/inbox/test_masking_everywhere.py fails until it does. Shapers are pure
(no database, no I/O: they run once per socket in the event loop) and never mutate ``data``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import threading
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from channels.layers import get_channel_layer
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from scrm.db import insert_rows, savepoint_depth

if TYPE_CHECKING:  # the feed's row model lives in inbox, looked up lazily at run time
    from inbox.models import InboxEvent

    FeedModel = type[InboxEvent]

logger = logging.getLogger(__name__)

FEED_MODEL = "inbox.InboxEvent"


class Audience(enum.StrEnum):
    """Who receives a kind: the people of one shop, one person, or an organisation's
    supervisors and admins."""

    SHOP = "shop"
    USER = "user"
    SUPERVISORS = "supervisors"


@dataclass(frozen=True)
class Viewer:
    """The person an event is shaped for (known to the socket and to the feed's reader)."""

    user_id: int
    organisation_id: int
    role: str


Shaper = Callable[[Mapping[str, Any], Viewer], dict[str, Any]]


def unchanged(data: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The shaper of a kind without personal fields: everyone gets the payload as published."""
    return data  # type: ignore[return-value]  # never mutated, never copied (hot path)


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its wire name, what it means, its payload schema (a ``TypedDict``)
    with an example payload (docs/api.md shows the same one), who receives it, and how its
    payload is shaped for each receiver."""

    name: str
    description: str
    schema: type
    example: Mapping[str, Any]
    audience: Audience = Audience.SHOP
    shaper: Shaper = unchanged

    def __str__(self) -> str:
        return self.name


class UnknownEventKind(ValueError):
    """An event kind nobody registered: register it (and document it in docs/api.md) first."""


class EventPayloadInvalid(ValueError):
    """A payload that does not match its kind's schema. The message names the field and the
    types, never a value (payloads carry personal data)."""


class EventAudienceMismatch(ValueError):
    """A kind published to another audience than the one it was registered with."""


_KINDS: dict[str, EventKind] = {}
# Read-only view of every registered kind, by name (docs/api.md lists the same; a test holds
# the two equal, and the access tests send every one of them).
EVENT_KINDS: Mapping[str, EventKind] = types.MappingProxyType(_KINDS)


def event_kind_register(
    *,
    name: str,
    description: str,
    schema: type,
    example: Mapping[str, Any],
    audience: Audience = Audience.SHOP,
    shaper: Shaper = unchanged,
) -> EventKind:
    """Register a kind (once per name; an app does it when its ``events`` module is imported).

    Keeps: names are unique; the schema is a ``TypedDict`` made only of the types the check
    understands, and the example matches it (so a typo fails at import, not at the first
    event).
    """
    if name in _KINDS:
        raise ValueError(f"event kind {name!r} is already registered")
    if not is_typeddict(schema):
        raise TypeError(f"the schema of {name!r} must be a TypedDict")
    _schema_supported(schema, name)
    _check(dict(example), schema, "example", name)
    kind = EventKind(
        name=name,
        description=description,
        schema=schema,
        example=types.MappingProxyType(dict(example)),
        audience=audience,
        shaper=shaper,
    )
    _KINDS[name] = kind
    return kind


def event_kind_unregister(name: str) -> None:
    """Forget a kind (tests that register a kind of their own remove it again)."""
    _KINDS.pop(name, None)


def event_kind_get(kind: EventKind | str) -> EventKind:
    """The registered kind for a name (or the kind itself), else ``UnknownEventKind``."""
    name = kind.name if isinstance(kind, EventKind) else kind
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownEventKind(f"unknown event kind {name!r}: register it first") from None


# --- groups ----------------------------------------------------------------------------------
def shop_group(shop_account_id: int) -> str:
    return f"shop.{shop_account_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def supervisors_group(organisation_id: int) -> str:
    return f"org.{organisation_id}.supervisors"


# --- publishing ------------------------------------------------------------------------------
def event_publish(
    *,
    organisation_id: int,
    type: EventKind | str,
    data: dict[str, Any],
    shop_account_id: int | None = None,
    user_id: int | None = None,
) -> InboxEvent:
    """Record an event (monotonic id) and push it to its group once the transaction commits.

    Returns the change-feed row. Keeps: ``type`` is a registered kind (``UnknownEventKind``);
    the receiver matches the kind's audience — a shop kind names its shop, a user kind its user,
    a supervisors' kind neither (``EventAudienceMismatch``); with ``SCRM_EVENTS_CHECK_SCHEMA``
    the payload matches the kind's schema (``EventPayloadInvalid``). ``data`` holds ids and
    display fields; it is shaped for each receiver on the way out (``event_shape``).
    """
    if _gathering() is not None:  # checked now, recorded with the others when it ends
        spec = EventSpec(organisation_id, type, data, shop_account_id, user_id)
        return events_publish([spec])[0]
    kind = event_kind_get(type)
    group = _group_for(kind, organisation_id, shop_account_id, user_id)
    if _checking():
        payload_check(kind, data)
    feed = cast("FeedModel", apps.get_model(FEED_MODEL))
    event = feed(
        organisation_id=organisation_id,
        shop_account_id=shop_account_id,
        user_id=user_id,
        type=kind.name,
        data=data,
    )
    # The transaction id is the database's, in the INSERT: no round trip of its own.
    insert_rows([event], sql_values=_txid_in_insert())
    message = {"type": "inbox.event", "event": {"id": event.id, "type": kind.name, "data": data}}
    transaction.on_commit(lambda: _push(group, message))
    return event


@dataclass(frozen=True)
class EventSpec:
    """One event for :func:`events_publish` (the arguments of :func:`event_publish`)."""

    organisation_id: int
    type: EventKind | str
    data: dict[str, Any]
    shop_account_id: int | None = None
    user_id: int | None = None


def events_publish(specs: Sequence[EventSpec]) -> list[InboxEvent]:
    """:func:`event_publish` for many events of one transaction at once (a sweep telling
    many people): one feed INSERT (the transaction id computed in it), one push call after
    commit for all of them, in order.

    Keeps: every check of :func:`event_publish` (kind, audience, schema) holds for each, and
    nothing is recorded when one fails; the feed ids are in ``specs``' order. The rows'
    ``txid`` is the database's, written by the INSERT itself (not read back into them).
    """
    if not specs:
        return []
    feed = cast("FeedModel", apps.get_model(FEED_MODEL))
    rows, groups = [], []
    for spec in specs:
        kind = event_kind_get(spec.type)
        groups.append(_group_for(kind, spec.organisation_id, spec.shop_account_id, spec.user_id))
        if _checking():
            payload_check(kind, spec.data)
        rows.append(
            feed(
                organisation_id=spec.organisation_id,
                shop_account_id=spec.shop_account_id,
                user_id=spec.user_id,
                type=kind.name,
                data=spec.data,
            )
        )
    gathered = _gathering()
    if gathered is not None:  # recorded with the others when the gathering ends
        gathered.extend(zip(groups, rows, strict=True))
        return rows
    return _record(list(zip(groups, rows, strict=True)))


def _record(pending: list[tuple[str, Any]]) -> list[InboxEvent]:
    """The feed rows in one INSERT (the transaction id computed in it), their pushes after
    commit in one call, in order."""
    events = [row for _, row in pending]
    insert_rows(events, sql_values=_txid_in_insert())
    messages = [
        (group, {"type": "inbox.event", "event": {"id": e.id, "type": e.type, "data": e.data}})
        for (group, _), e in zip(pending, events, strict=True)
    ]
    transaction.on_commit(lambda: _push_many(messages))
    return events


# The events published inside ``events_gathered``, waiting to be recorded together, and the
# savepoint depth the gathering began at.
_gathered: ContextVar[tuple[list[tuple[str, Any]], int] | None] = ContextVar(
    "scrm_events", default=None
)


def _gathering() -> list[tuple[str, Any]] | None:
    """The gathering's list, when a publish is at the depth it began at: one made inside a
    nested ``atomic`` (a savepoint that may be rolled back while the gathering goes on) is
    recorded at once, in its savepoint, as without the gathering."""
    gathered = _gathered.get()
    if gathered is None or savepoint_depth(connection) != gathered[1]:
        return None
    return gathered[0]


@contextmanager
def events_gathered() -> Iterator[None]:
    """Inside a transaction: what ``event_publish`` and ``events_publish`` are asked in the
    block is checked at once (kind, audience, schema: a refusal raises there, as without the
    gathering) and recorded when the block ends — one feed INSERT and one push after commit for
    all, in the order they were published — instead of an INSERT and a push each. The rows
    they return get their ids then. Nothing is recorded when the block raises. Nested: the
    outermost records. A publish inside a nested ``atomic`` of the block is recorded at once,
    in that savepoint, so rolling it back takes its events with it."""
    if _gathered.get() is not None:
        yield
        return
    pending: list[tuple[str, Any]] = []
    token = _gathered.set((pending, savepoint_depth(connection)))
    try:
        yield
    finally:
        _gathered.reset(token)
    if pending:
        _record(pending)


def _group_for(
    kind: EventKind, organisation_id: int, shop_account_id: int | None, user_id: int | None
) -> str:
    if kind.audience == Audience.SHOP and shop_account_id and user_id is None:
        return shop_group(shop_account_id)
    if kind.audience == Audience.USER and user_id and shop_account_id is None:
        return user_group(user_id)
    if kind.audience == Audience.SUPERVISORS and shop_account_id is None and user_id is None:
        return supervisors_group(organisation_id)
    raise EventAudienceMismatch(
        f"event kind {kind.name!r} goes to its {kind.audience} audience only"
    )


def control_publish(*, user_id: int, message: dict[str, Any]) -> None:
    """A control message to a user's open sockets (e.g. leave a shop group), after commit."""
    transaction.on_commit(lambda: _push(user_group(user_id), message))


def _txid_in_insert() -> dict[str, str]:
    """The transaction id as the INSERT computes it (``pg_current_xact_id()``, which the
    change feed's readers compare), without a round trip of its own; not read back into the
    row object (nothing reads it there). SQLite's rows have none."""
    if connection.vendor != "postgresql":
        return {}
    return {"txid": "pg_current_xact_id()::text::bigint"}


PUSH_GROUPS_AT_ONCE = 8  # groups pushed concurrently by _push_many (Redis connections used)
PUSH_TIMEOUT_SECONDS = 30.0  # a batch's pushes given up after this (the change feed has them)
_push_loop_of: dict[int, asyncio.AbstractEventLoop] = {}  # by process id: remade after a fork
_push_loop_lock = threading.Lock()


def _push_many(messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Push several events at once, on this process's push loop (:func:`_push_loop`).

    Keeps: each group gets its events in order, one after another; different groups are
    pushed concurrently (``PUSH_GROUPS_AT_ONCE`` at a time), so a sweep telling 30 people
    waits for about one group's round trips to Redis, not 30 groups' in a row; the caller
    waits at most ``PUSH_TIMEOUT_SECONDS`` (a push lost is recovered by the change feed)."""
    layer = get_channel_layer()
    if layer is None:
        return
    by_group = bundled(messages)

    async def send_group(group: str, payloads: list[dict[str, Any]], gate: Any) -> None:
        async with gate:
            for payload in payloads:
                try:
                    await layer.group_send(group, payload)
                except Exception:  # the change feed has it: never fail the caller
                    logger.warning("could not push event to %s", group, exc_info=True)

    async def send_all() -> None:
        gate = asyncio.Semaphore(PUSH_GROUPS_AT_ONCE)
        await asyncio.gather(*(send_group(g, p, gate) for g, p in by_group.items()))

    try:  # no loop to push on (the interpreter stopping): the change feed has the events
        future = asyncio.run_coroutine_threadsafe(send_all(), _push_loop())
    except Exception:
        logger.warning("could not push %d events", len(messages), exc_info=True)
        return
    try:
        future.result(timeout=PUSH_TIMEOUT_SECONDS)
    except Exception:  # a timeout; each send's own errors are caught above
        future.cancel()
        logger.warning("could not push %d events in time", len(messages), exc_info=True)


def _push_loop() -> asyncio.AbstractEventLoop:
    """An event loop of this process's own, running in a daemon thread, for
    :func:`_push_many`: the channel layer keeps its Redis connections per event loop, so on
    a loop that lasts they stay open from one batch to the next (``async_to_sync`` makes a
    loop per call, where pushing to several groups at once opened as many connections each
    time and was slower than one after another). Made again in a forked child (a worker)."""
    pid = os.getpid()
    with _push_loop_lock:
        loop = _push_loop_of.get(pid)
        if loop is None:
            _push_loop_of.clear()
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="event-push", daemon=True).start()
            _push_loop_of[pid] = loop
        return loop


EVENTS_PER_MESSAGE = 50  # events of one group carried by one channel-layer message, at most


def bundled(messages: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each group's channel-layer messages, in order, events that follow one another in
    ``messages`` to the same group carried together: ``{"type": "inbox.events", "events":
    [...]}`` (up to ``EVENTS_PER_MESSAGE``; a lone event stays an ``inbox.event``). A message
    stored is two or three events in a row to its shop, a sweep's alerts runs of events to one
    person: each channel-layer message costs a group send here (two round trips to Redis) and,
    in every server with a member socket, a receive and a dispatch. The socket sends each event
    as its own frame, as before (``InboxConsumer.inbox_events``).

    Only events in a row are joined: a socket in two groups (a person's and a shop's) gets an
    event of the one between two of the other in that order when the groups' sends happen to
    land in order, as before; a bundle spanning the other group's event would make it arrive
    after both, and the page drops an event older than the last it showed."""
    out: dict[str, list[dict[str, Any]]] = {}
    previous: str | None = None
    for group, payload in messages:
        queue = out.setdefault(group, [])
        last = queue[-1] if queue else None
        if (
            group == previous
            and last is not None
            and payload.get("type") == "inbox.event"
            and last.get("type") in ("inbox.event", "inbox.events")
            and len(last.get("events", ())) < EVENTS_PER_MESSAGE
        ):
            if last["type"] == "inbox.event":
                last = queue[-1] = {"type": "inbox.events", "events": [last["event"]]}
            last["events"].append(payload["event"])
        else:
            queue.append(payload)
        previous = group
    return out


def _push(group: str, payload: dict[str, Any]) -> None:
    """One event to its group, on this process's push loop (``_push_many``): with
    ``async_to_sync`` each push made an event loop and, on it, a new Redis connection for the
    channel layer (~9 ms a push in a worker storing messages, a fifth of its time). Never
    raises for a push it cannot make: ``_push_many`` logs it (the change feed has the event)."""
    _push_many([(group, payload)])


# --- shaping ---------------------------------------------------------------------------------
def event_shape(type: str, data: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The payload of one event as ``viewer`` may see it: the kind's shaper, applied by the
    socket and by the change feed alike. A row of a kind no longer registered is passed as
    stored (every kind that can be published is registered)."""
    kind = _KINDS.get(type)
    if kind is None:
        return dict(data)
    shaped = kind.shaper(data, viewer)
    if kind.shaper is not unchanged and _checking():
        payload_check(kind, shaped)  # masking keeps the contract: same fields, same types
    return shaped


# --- the schema check ------------------------------------------------------------------------
def _checking() -> bool:
    return bool(getattr(settings, "SCRM_EVENTS_CHECK_SCHEMA", settings.DEBUG))


def payload_check(kind: EventKind | str, data: Any) -> None:
    """Raise ``EventPayloadInvalid`` unless ``data`` matches the kind's schema exactly: every
    required key, no other key, each value of its declared type (``int`` is not ``bool``)."""
    kind = event_kind_get(kind)
    _check(data, kind.schema, "data", kind.name)


def _fail(kind: str, path: str, expected: Any, value: Any) -> EventPayloadInvalid:
    return EventPayloadInvalid(
        f"event {kind!r}: {path} should be {_type_name(expected)}, "
        f"got {type(value).__name__}"  # the type only: values may be personal data
    )


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


@cache
def _hints(schema: type) -> dict[str, Any]:
    return get_type_hints(schema)


def _check(value: Any, tp: Any, path: str, kind: str) -> None:
    origin = get_origin(tp)
    if tp is Any:
        return
    if origin is Union or origin is types.UnionType:
        _check_union(value, tp, path, kind)
    elif is_typeddict(tp):
        _check_typeddict(value, tp, path, kind)
    elif origin in (list, dict):
        _check_container(value, tp, path, kind)
    elif origin is Literal:
        if value not in get_args(tp):
            raise EventPayloadInvalid(f"event {kind!r}: {path} is not one of {get_args(tp)}")
    elif tp is type(None) or tp is None:
        if value is not None:
            raise _fail(kind, path, "None", value)
    elif tp in (int, float):  # a bool is not a number here, though Python says it is an int
        if isinstance(value, bool) or not isinstance(value, int if tp is int else int | float):
            raise _fail(kind, path, tp, value)
    elif tp in (str, bool):
        if not isinstance(value, tp):
            raise _fail(kind, path, tp, value)
    else:
        raise TypeError(f"event {kind!r}: {path} has a type the check does not know: {tp}")


def _check_union(value: Any, tp: Any, path: str, kind: str) -> None:
    for option in get_args(tp):
        try:
            _check(value, option, path, kind)
            return
        except EventPayloadInvalid:
            continue
    raise _fail(kind, path, tp, value)


def _check_typeddict(value: Any, tp: Any, path: str, kind: str) -> None:
    if not isinstance(value, dict):
        raise _fail(kind, path, tp, value)
    missing = tp.__required_keys__ - value.keys()
    extra = value.keys() - tp.__required_keys__ - tp.__optional_keys__
    if missing or extra:
        raise EventPayloadInvalid(
            f"event {kind!r}: {path} ({tp.__name__}) is missing {sorted(missing)} "
            f"and has unexpected {sorted(map(str, extra))}"
        )
    for key, key_type in _hints(tp).items():
        if key in value:
            _check(value[key], key_type, f"{path}.{key}", kind)


def _check_container(value: Any, tp: Any, path: str, kind: str) -> None:
    origin = get_origin(tp)
    if not isinstance(value, origin):
        raise _fail(kind, path, tp, value)
    if origin is list:
        (item_type,) = get_args(tp)
        for i, item in enumerate(value):
            _check(item, item_type, f"{path}[{i}]", kind)
        return
    _key_type, item_type = get_args(tp)
    for key, item in value.items():
        if not isinstance(key, str):
            raise _fail(kind, f"{path} key", str, key)
        _check(item, item_type, f"{path}[…]", kind)


def _schema_supported(tp: Any, kind: str, path: str = "data") -> None:
    """Walk a schema once at registration: only the types ``_check`` understands."""
    origin = get_origin(tp)
    if tp is Any or tp is type(None) or tp is None or tp in (int, float, str, bool):
        return
    if origin is Literal:
        return
    if origin is Union or origin is types.UnionType or origin in (list, dict):
        for arg in get_args(tp):
            _schema_supported(arg, kind, path)
        return
    if is_typeddict(tp):
        for key, key_type in _hints(tp).items():
            _schema_supported(key_type, kind, f"{path}.{key}")
        return
    raise TypeError(f"event {kind!r}: {path} has a type the check does not know: {tp}")
