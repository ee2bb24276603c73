"""The one queue's order: due times, positions, cursors and "after the cursor" filters
(inbox/selectors/queue.py reads the rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Expression, F, Q

from inbox.models.conversations import ANSWERED_SENTINEL

CASE, CONVERSATION = 0, 1  # the type's place on a tie
KINDS = ("all", "conversations", "cases")
SORTS = ("waiting", "newest", "priority", "due")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def chat_reply_target() -> timedelta:
    return timedelta(minutes=settings.SCRM_CHAT_REPLY_TARGET_MINUTES)


def case_default_deadline() -> timedelta:
    return timedelta(hours=settings.SCRM_CASE_DEFAULT_DEADLINE_HOURS)


def conversation_due(conversation: Any) -> datetime:
    """When a conversation's answer is due; answered ones at the far end (the sentinel)."""
    if conversation.queue_key >= ANSWERED_SENTINEL:
        return ANSWERED_SENTINEL
    return conversation.queue_key + chat_reply_target()


def case_due(case: Any) -> datetime:
    """A case's seller deadline, or the documented default after the buyer asked."""
    if case.seller_deadline is not None:
        return case.seller_deadline
    return case.platform_created_at + case_default_deadline()


def sort_due(sort: str, kind: int, item: Any) -> datetime:
    """The due time a row is ordered by: its SLA deadline (``sla_due_at``, the sentinel when
    none is open) for the "due" sort, else the waiting sort's stand-in."""
    if sort == "due":
        return item.sla_due_at
    return conversation_due(item) if kind == CONVERSATION else case_due(item)


def shown_due(kind: int, item: Any) -> datetime:
    """The due time a row shows: its open SLA deadline when it has one, else the stand-in
    (the reply target after the wait began; the case's seller deadline or default)."""
    real = getattr(item, "sla_due_at", ANSWERED_SENTINEL)
    if real is not None and real < ANSWERED_SENTINEL:
        return real
    return conversation_due(item) if kind == CONVERSATION else case_due(item)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class QueueRow:
    """One row of the queue: a conversation or a case, with its position in the sort."""

    kind: str  # "conversation" | "case"
    item: Any  # Conversation | AfterSalesCase
    position: tuple[int, ...]  # what the cursor stores (see _position)
    due: datetime

    @property
    def cursor(self) -> str:
        return ".".join(str(p) for p in self.position)


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None  # None: this was the last page


def position_of(sort: str, kind: int, item: Any, due: datetime) -> tuple[int, ...]:
    """The cursor's integers: waiting and due (due, type, id); newest (activity, type, id);
    priority (priority, due, type, id). Cases count as normal priority (1). ``due`` is the
    sort's (``sort_due``)."""
    if sort == "newest":
        at = item.last_message_at if kind == CONVERSATION else item.platform_updated_at
        return (_micros(at), kind, item.id)
    if sort == "priority":
        prio = item.priority if kind == CONVERSATION else 1
        return (prio, _micros(due), kind, item.id)
    return (_micros(due), kind, item.id)


def sort_key(sort: str, position: tuple[int, ...]) -> tuple[int, ...]:
    """The position turned into a tuple whose ascending order is the queue's order."""
    if sort == "newest":
        at, kind, pk = position
        return (-at, kind, -pk)
    if sort == "priority":
        prio, due, kind, pk = position
        return (-prio, due, kind, pk)
    return position


def parse_cursor(sort: str, cursor: str | None) -> tuple[int, ...] | None:
    """A cursor of this sort, or None (first page) for anything unusable."""
    if not cursor:
        return None
    parts = cursor.split(".")
    if len(parts) != (4 if sort == "priority" else 3) or len(cursor) > 100:
        return None
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        return None
    due = values[1] if sort == "priority" else values[0]
    if not (0 <= due <= _micros(ANSWERED_SENTINEL) + 10**12 and values[-2] in (CASE, CONVERSATION)):
        return None
    # An id (and a priority) a column can hold: SQLite's driver overflows on a larger one.
    if not all(-(2**63) <= v < 2**63 for v in values):
        return None
    return values


# --- keyset: "after the cursor" as a filter on one source -----------------------------------


@dataclass(frozen=True)
class Const:
    value: int


class RowAfter(Expression):
    """``(a, b, …) > (x, y, …)`` (or ``>=``, ``<``, ``<=``): a row comparison, which PostgreSQL
    answers with one range of an index on those columns in that order. The same condition
    spelled ``a > x OR (a = x AND b > y)`` cannot bound the index: page 5 of the queue read
    four pages' rows to skip them (3.2 ms at 1M conversations, 0.3 ms this way). SQLite has row
    values too (3.15+). Each value is prepared by its column's field, as a lookup's is."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, columns: list[str], op: str, values: list[Any]) -> None:
        super().__init__()
        if op not in (">", ">=", "<", "<=") or len(columns) != len(values) or not columns:
            raise ValueError("RowAfter: columns, values and one of > >= < <=")
        self.columns: list[Any] = [F(c) for c in columns]
        self.op, self.values = op, list(values)

    def get_source_expressions(self) -> list[Any]:
        return list(self.columns)

    def set_source_expressions(self, exprs: Any) -> None:
        self.columns = list(exprs)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sqls, params = [], []
        for column in self.columns:
            sql, column_params = compiler.compile(column)
            sqls.append(sql)
            params.extend(column_params)
        values = [
            column.output_field.get_db_prep_value(value, connection)
            for column, value in zip(self.columns, self.values, strict=True)
        ]
        marks = ", ".join("%s" for _ in values)
        return f"({', '.join(sqls)}) {self.op} ({marks})", [*params, *values]


def after_cursor(parts: list[tuple[Any, bool, Any]]) -> Q | bool:
    """Rows whose key (lexicographic over ``parts``: (field or _Const, descending, cursor
    value)) comes strictly after the cursor. True: every row; False: none.

    Where every column of the key runs the same way, one row comparison (``RowAfter``);
    otherwise (the priority sort: priority down, due time up) the nested OR of each part."""
    directions = {desc for lhs, desc, _ in parts if not isinstance(lhs, Const)}
    if len(directions) == 1:
        return _row_after(parts, directions.pop())
    return _nested_after(parts)


def _row_after(parts: list[tuple[Any, bool, Any]], desc: bool) -> Q | bool:
    """``after_cursor`` as a row comparison over the columns before the first type
    (``Const``) that differs from the cursor's: that type decides whether the cursor's own
    values come after (``>=``) or not (``>``); when none differs, strictly after."""
    columns: list[str] = []
    values: list[Any] = []
    inclusive = False
    for lhs, part_desc, value in parts:
        if isinstance(lhs, Const):
            if lhs.value == value:
                continue
            inclusive = (lhs.value < value) if part_desc else (lhs.value > value)
            break
        columns.append(lhs)
        values.append(value)
    if not columns:
        return inclusive
    op = ("<" if desc else ">") + ("=" if inclusive else "")
    return Q(RowAfter(columns, op, values))


def _nested_after(parts: list[tuple[Any, bool, Any]]) -> Q | bool:
    if not parts:
        return False
    (lhs, desc, value), rest = parts[0], parts[1:]
    if isinstance(lhs, Const):
        if lhs.value == value:
            return _nested_after(rest)
        return (lhs.value < value) if desc else (lhs.value > value)
    beyond = Q(**{f"{lhs}__{'lt' if desc else 'gt'}": value})
    tail = _nested_after(rest)
    if tail is False:
        return beyond
    same = Q(**{lhs: value})
    return beyond | (same if tail is True else same & tail)


def _sla_due_parts(kind: Const, c: tuple[int, ...]) -> list[tuple[Any, bool, Any]]:
    """The "due" sort's key on either source: (sla_due_at, type, id)."""
    return [("sla_due_at", False, _from_micros(c[0])), (kind, False, c[1]), ("id", False, c[2])]


Parts = list[tuple[Any, bool, Any]]  # (field or Const, descending, the cursor's value)


def conversation_after_parts(sort: str, target: timedelta) -> Callable[[tuple[int, ...]], Parts]:
    """A conversation's key after a cursor of ``sort``, as ``after_cursor``'s parts."""

    def queue_key_at(due_us: int) -> datetime:
        due = _from_micros(due_us)
        return ANSWERED_SENTINEL if due >= ANSWERED_SENTINEL else due - target

    def parts(c: tuple[int, ...]) -> Parts:
        kind = Const(CONVERSATION)
        if sort == "newest":
            return [
                ("last_message_at", True, _from_micros(c[0])),
                (kind, False, c[1]),
                ("id", True, c[2]),
            ]
        if sort == "due":
            return _sla_due_parts(kind, c)
        if sort == "priority":
            return [
                ("priority", True, c[0]),
                ("queue_key", False, queue_key_at(c[1])),
                (kind, False, c[2]),
                ("id", False, c[3]),
            ]
        return [("queue_key", False, queue_key_at(c[0])), (kind, False, c[1]), ("id", False, c[2])]

    return parts


def case_after_parts(
    sort: str, field: str, offset: timedelta
) -> Callable[[tuple[int, ...]], Parts]:
    """A case's key after a cursor of ``sort``, as ``after_cursor``'s parts. ``field`` +
    ``offset`` is the case's due time (seller_deadline + 0, or platform_created_at + the
    default deadline)."""

    def parts(c: tuple[int, ...]) -> Parts:
        kind = Const(CASE)
        if sort == "newest":
            return [
                ("platform_updated_at", True, _from_micros(c[0])),
                (kind, False, c[1]),
                ("id", True, c[2]),
            ]
        if sort == "due":
            return _sla_due_parts(kind, c)
        if sort == "priority":
            return [
                (Const(1), True, c[0]),
                (field, False, _from_micros(c[1]) - offset),
                (kind, False, c[2]),
                ("id", False, c[3]),
            ]
        return [
            (field, False, _from_micros(c[0]) - offset),
            (kind, False, c[1]),
            ("id", False, c[2]),
        ]

    return parts


def parts_shape(parts: Parts) -> tuple[tuple[Any, ...], list[Any]]:
    """``parts`` split into what shapes the filter (each column and direction; each type
    part whole, as it decides the comparison, and nothing after a type that differs from the
    cursor's) and the columns' values, for a statement compiled once per shape
    (``read_compiled``). ``after_cursor`` of the parts and of ``parts_of_shape`` of the
    result are the same filter."""
    shape: list[tuple[Any, ...]] = []
    values: list[Any] = []
    for lhs, desc, value in parts:
        if isinstance(lhs, Const):
            shape.append(("const", lhs.value, desc, value))
            if lhs.value != value:  # the type decides: the parts after it are never read
                break
        else:
            shape.append((lhs, desc))
            values.append(value)
    return tuple(shape), values


def parts_of_shape(shape: tuple[tuple[Any, ...], ...], values: Any) -> Parts:
    """``parts_shape`` undone, with ``values`` (an iterator) for the columns."""
    return [
        (Const(k[1]), k[2], k[3]) if k[0] == "const" else (k[0], k[1], next(values)) for k in shape
    ]
