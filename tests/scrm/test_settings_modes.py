"""The settings pick their mode from the environment alone, and refuse unsafe production starts.

Each case runs a fresh interpreter, as a real deployment would start one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.db import connection
out = {
    "mode": settings.SCRM_MODE,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "worker": settings.SCRM_IN_PROCESS_WORKER,
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "scheduler": settings.SCRM_RUN_SCHEDULER,
    "concurrency": settings.CELERY_WORKER_CONCURRENCY,
}
if out["engine"].endswith("sqlite3"):
    with connection.cursor() as c:
        c.execute("PRAGMA journal_mode")
        out["journal"] = c.fetchone()[0]
print(json.dumps(out))
"""


def run(env_overrides: dict[str, str], *args: str, code: str | None = None):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_DEBUG",
            "DJANGO_SECRET_KEY",
            "SCRM_ENCRYPTION_KEYS",
            "SCRM_SIMULATOR",
            "SCRM_RUN_SCHEDULER",
            "SCRM_TASKS_EAGER",
            "DJANGO_ALLOWED_HOSTS",
            "SCRM_WORKER_CONCURRENCY",
        }
    }
    env["DJANGO_SETTINGS_MODULE"] = "scrm.settings"
    env.update(env_overrides)
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def probe(env: dict[str, str]) -> dict:
    import json

    result = run(env, code=PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_mode_without_service_variables(tmp_path):
    # Given no DATABASE_URL / REDIS_URL
    out = probe({"DJANGO_DEBUG": "1", "SCRM_DATA_DIR": str(tmp_path)})
    # Then SQLite in WAL mode, in-memory channels (safe to push to from the worker's threads),
    # tasks on the in-process worker (never in the request), the in-process scheduler
    assert out["mode"] == "embedded"
    assert out["engine"] == "django.db.backends.sqlite3"
    assert out["journal"] == "wal"
    assert out["layer"] == "scrm.channel_layer.InMemoryChannelLayer"
    assert out["eager"] is False
    assert out["worker"] is True
    assert out["cache"].endswith("LocMemCache")
    assert out["scheduler"] is True
    assert (tmp_path / "scrm.sqlite3").exists()


def test_services_mode_from_variables():
    out = probe(
        {
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        }
    )
    assert out["mode"] == "services"
    assert out["engine"] == "django.db.backends.postgresql"
    # channels-redis's layer with its blocking pop as a setting (scrm.channel_layer)
    assert out["layer"] == "scrm.channel_layer.RedisChannelLayer"
    assert out["eager"] is False
    assert out["worker"] is False  # celery worker processes run the tasks there
    assert out["broker"] == "redis://127.0.0.1:6379/3"
    assert out["cache"].endswith("RedisCache")
    assert out["scheduler"] is False  # celery beat runs the periodic jobs there
    # the worker's pool: two processes for each core it may run on (its tasks mostly wait),
    # at most eight (each pools database connections)
    assert out["concurrency"] == min(2 * len(os.sched_getaffinity(0)), 8)


def test_half_configured_services_mode_is_refused():
    result = run({"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://x@127.0.0.1/y"}, "check")
    assert result.returncode != 0
    assert "needs both DATABASE_URL and REDIS_URL" in result.stderr


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "DJANGO_SECRET_KEY and SCRM_ENCRYPTION_KEYS"),
        ({"DJANGO_SECRET_KEY": "x" * 60}, "SCRM_ENCRYPTION_KEYS"),
        ({"SCRM_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "="}, "DJANGO_SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_secrets(given, missing):
    # Given DJANGO_DEBUG off (the default) and a missing secret
    result = run(given, "check")
    # Then the process stops with a message naming what is missing
    assert result.returncode != 0
    assert f"so {missing} must be set" in result.stderr


def test_production_settings_pass_deploy_checks(tmp_path):
    from scrm.crypto import generate_key_spec

    result = run(
        {
            "DJANGO_SECRET_KEY": "p" + os.urandom(40).hex(),
            "SCRM_ENCRYPTION_KEYS": generate_key_spec("k1"),
            "DJANGO_ALLOWED_HOSTS": "inbox.example.com",
            "SCRM_DATA_DIR": str(tmp_path),
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
