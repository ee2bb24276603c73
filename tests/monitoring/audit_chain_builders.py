"""Helpers of the audit-chain tests: events written and sealed, and a way around the triggers
(as someone with the database but not the key would go)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from monitoring.audit_chain.sealer import seal_organisation
from monitoring.audit_chain.triggers import SQLITE_CREATE, SQLITE_DROP
from monitoring.services import audit_record

KEY_1 = "k1:" + "a2V5LW9uZS1mb3ItdGhlLWF1ZGl0LWNoYWluLXRlc3RzLTMyYg=="
KEY_2 = "k2:" + "a2V5LXR3by1mb3ItdGhlLWF1ZGl0LWNoYWluLXRlc3RzLTMyYg=="


def events(org, actor, n: int, action: str = "conversation.assigned", seal: bool = True):
    rows = [
        audit_record(
            organisation_id=org.id, actor=actor, action=action, data={"n": i, "to": [1, 2]}
        )
        for i in range(n)
    ]
    if seal:
        seal_organisation(org.id)
    return rows


@contextlib.contextmanager
def triggers_bypassed() -> Iterator[None]:
    """What a database superuser (or the table's owner) can do: the triggers off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute(SQLITE_DROP)
        try:
            yield
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                cursor.execute(SQLITE_CREATE)


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_command(*args: str) -> tuple[int, str]:
    """``manage.py audit_verify`` as an operator runs it: (exit status, output)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()
