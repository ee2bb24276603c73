"""A sweep in a process of its own (spawned: a fresh interpreter, its own database pool), for
the racing test. Nothing Django at import: the child sets Django up on the test database."""

from __future__ import annotations

import os


def sweep_in_child(database: str, barrier, results, now) -> None:
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")
        import django
        from django.conf import settings

        django.setup()
        settings.DATABASES["default"]["NAME"] = database  # the test database, not the dev one
        from django.db import connections

        connections["default"].settings_dict["NAME"] = database
        from monitoring.sla.sweep import sla_sweep

        barrier.wait(timeout=60)
        result = sla_sweep(now=now, batch_size=7)
        results.put((result.recorded, result.sent))
        connections.close_all()
    except BaseException as exc:  # the parent reports it
        results.put(repr(exc))


def sweep_alone(database: str, now) -> None:
    """A worker's sweep, to be killed by the parent while it is inside its transaction."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = database
    from django.db import connections

    connections["default"].settings_dict["NAME"] = database
    from monitoring.sla.sweep import sla_sweep

    sla_sweep(now=now)
