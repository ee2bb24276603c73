"""Every app has the same module names (docs/architecture.md, "Layout"): ``models``,
``services``, ``selectors``, ``api``, ``views``, ``tasks``, each a module or a package."""

from __future__ import annotations

import importlib.util

import pytest

APPS = ("inbox", "templates_app", "monitoring")
MODULES = ("models", "services", "selectors", "api", "views", "tasks")


@pytest.mark.parametrize("app", APPS)
def test_every_app_has_the_same_module_names(app):
    missing = [name for name in MODULES if importlib.util.find_spec(f"{app}.{name}") is None]
    assert missing == []


def test_old_monitoring_paths_still_import_the_same_functions():
    from monitoring import audit, screening, security_log, services

    assert audit.audit_record is services.audit_record
    assert screening.screen_outgoing is services.screen_outgoing
    assert security_log.security_events_prune is services.security_events_prune
