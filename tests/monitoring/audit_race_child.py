"""Audit writers in processes of their own (spawned: a fresh interpreter, its own database
connection), for the concurrent-append test. Nothing Django at import."""

from __future__ import annotations

import os


def append_in_child(database: str, organisation_id: int, count: int, barrier, results) -> None:
    """Write ``count`` audit events, one transaction each, as a web or worker process does; each
    commit runs the organisation's sealer (tasks eager, as the test suite runs them), so the
    children's sealers race each other on the chain head."""
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")
        import django
        from django.conf import settings

        django.setup()
        settings.DATABASES["default"]["NAME"] = database  # the test database, not the dev one
        from django.db import connections, transaction

        connections["default"].settings_dict["NAME"] = database
        from monitoring.services import audit_record
        from scrm.celery import app

        app.conf.task_always_eager = True
        barrier.wait(timeout=60)
        for i in range(count):
            with transaction.atomic():
                audit_record(
                    organisation_id=organisation_id, actor=None, action="race.append",
                    data={"pid": os.getpid(), "i": i},
                )  # fmt: skip
        results.put(count)
        connections.close_all()
    except BaseException as exc:  # the parent reports it
        results.put(repr(exc))
