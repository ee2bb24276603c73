"""Timestamps read through psycopg's C loader (scrm/pg_datetimes.py) are the values Django's
own loader gives: same instants, tz-aware in UTC, every edge the product stores."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, connections

from inbox.models.conversations import ANSWERED_SENTINEL
from scrm.pg_datetimes import UtcTimestamptzLoader

UTC = datetime.UTC

pytestmark = pytest.mark.django_db

CASES = [  # (SQL literal, the datetime Django's loader gives)
    ("2026-03-29 01:30:00.5+01", datetime.datetime(2026, 3, 29, 0, 30, 0, 500000, tzinfo=UTC)),
    ("2026-10-25 01:30:00+01", datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # DST end
    ("2026-12-04 08:00:00.000001+08", datetime.datetime(2026, 12, 4, 0, 0, 0, 1, tzinfo=UTC)),
    ("9999-01-01 00:00:00+00", ANSWERED_SENTINEL),  # the queue's "answered" sentinel
    ("0001-01-01 00:00:00+00", datetime.datetime(1, 1, 1, tzinfo=UTC)),
    ("2024-02-29 23:59:59.999999-05", datetime.datetime(2024, 3, 1, 4, 59, 59, 999999, UTC)),
]


def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the loader is PostgreSQL's (the suite runs on it in CI)")


def _read(sql: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def test_a_new_connection_reads_timestamps_through_the_c_loader():
    _postgresql()
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader is UtcTimestamptzLoader
    with connection.cursor() as cursor:  # Django's cursor keeps it (same time zone)
        assert cursor.connection.adapters.get_loader(1184, 0) is UtcTimestamptzLoader
    # and each value goes through psycopg's C loader, not a Python fallback
    made = UtcTimestamptzLoader(1184, connection.connection)
    assert type(made.load.__self__).__module__.startswith("psycopg_binary")


@pytest.mark.parametrize(("literal", "expected"), CASES)
def test_values_equal_djangos_loader(literal, expected):
    _postgresql()
    (value,) = _read(f"select '{literal}'::timestamptz")
    assert value == expected
    assert value.tzinfo is UTC  # what Django's loader gives: aware, in UTC
    assert value.utcoffset() == datetime.timedelta(0)


def test_null_and_model_fields_read_back_exactly():
    _postgresql()
    from django.contrib.auth import get_user_model

    from tests.factories import UserFactory

    user = UserFactory()
    at = datetime.datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=UTC)
    get_user_model().objects.filter(pk=user.pk).update(last_login=at)
    fresh = get_user_model().objects.get(pk=user.pk)
    assert fresh.last_login == at and fresh.last_login.tzinfo is UTC
    get_user_model().objects.filter(pk=user.pk).update(last_login=None)
    assert get_user_model().objects.get(pk=user.pk).last_login is None


def test_a_session_in_another_time_zone_keeps_djangos_semantics():
    """Someone SETs the session's time zone: the loader made after it parses in Python the way
    Django's does (the wall time of the session, labelled UTC), never a wrong C shortcut."""
    _postgresql()
    with connections["default"].cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Shanghai'")
        try:
            cursor.execute("select '2026-01-01 00:00:00+00'::timestamptz")
            (value,) = cursor.fetchone()
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert value == datetime.datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
