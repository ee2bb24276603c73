"""Every timeout on the live-update path is named, configurable, and ordered so that an idle
socket survives it (docs/configuration.md "Real time")."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from inbox.services.presence import PRESENCE_WINDOW
from scrm.channel_layer import RedisChannelLayer
from tests.scrm.test_settings_modes import run

TIMEOUTS_PROBE = """
import json, django
from django.conf import settings
django.setup()
layer = settings.CHANNEL_LAYERS["default"]
print(json.dumps({
    "backend": layer["BACKEND"],
    "config": layer.get("CONFIG", {}),
    "recheck": settings.SCRM_WS_RECHECK_SECONDS,
    "ping": [settings.SCRM_WS_PING_INTERVAL, settings.SCRM_WS_PING_TIMEOUT],
    "client_ping": settings.SCRM_WS_CLIENT_PING_SECONDS,
}))
"""

SERVICES = {
    "DJANGO_DEBUG": "1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/3",
}


def probe(env: dict[str, str]) -> dict:
    result = run(env, code=TIMEOUTS_PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_redis_read_timeout_outlasts_the_blocking_pop_by_default():
    # Given services mode with nothing tuned
    out = probe(SERVICES)
    config = out["config"]
    host = config["hosts"][0]
    # Then the layer's socket timeout leaves its blocking pop room to answer (they were both
    # 5 s: redis-py 8's default against channels-redis's pop), and the connection is watched
    assert host["socket_timeout"] >= config["blocking_pop_seconds"] + 1
    assert host["socket_keepalive"] is True
    assert host["health_check_interval"] > 0
    assert host["address"] == SERVICES["REDIS_URL"]
    # And the sockets re-join well before the channel layer forgets them (24 h)
    assert config["group_expiry"] == 86400
    assert out["recheck"] < config["group_expiry"]


def test_every_timeout_is_read_from_the_environment():
    out = probe(
        {
            **SERVICES,
            "SCRM_REDIS_SOCKET_TIMEOUT": "7",
            "SCRM_REDIS_CONNECT_TIMEOUT": "3",
            "SCRM_REDIS_HEALTH_CHECK_SECONDS": "11",
            "SCRM_CHANNEL_BLOCKING_POP_SECONDS": "2",
            "SCRM_CHANNEL_GROUP_EXPIRY_SECONDS": "600",
            "SCRM_WS_RECHECK_SECONDS": "45",
            "SCRM_WS_PING_INTERVAL": "12",
            "SCRM_WS_PING_TIMEOUT": "8",
            "SCRM_WS_CLIENT_PING_SECONDS": "25",
        }
    )
    host = out["config"]["hosts"][0]
    assert (host["socket_timeout"], host["socket_connect_timeout"]) == (7, 3)
    assert host["health_check_interval"] == 11
    assert out["config"]["blocking_pop_seconds"] == 2
    assert out["config"]["group_expiry"] == 600
    assert out["recheck"] == 45
    assert out["ping"] == [12, 8]
    assert out["client_ping"] == 25


def test_the_embedded_layer_has_the_same_group_expiry(tmp_path):
    out = probe(
        {
            "DJANGO_DEBUG": "1",
            "SCRM_DATA_DIR": str(tmp_path),
            "SCRM_CHANNEL_GROUP_EXPIRY_SECONDS": "900",
        }
    )
    assert out["config"]["group_expiry"] == 900


def test_a_recheck_slower_than_the_group_expiry_is_refused():
    result = run(
        {**SERVICES, "SCRM_WS_RECHECK_SECONDS": "120", "SCRM_CHANNEL_GROUP_EXPIRY_SECONDS": "60"},
        "check",
    )
    assert result.returncode != 0
    assert "SCRM_WS_RECHECK_SECONDS must be shorter" in result.stderr


@pytest.mark.parametrize("socket_timeout", [5, 5.5])
def test_the_layer_refuses_a_read_timeout_that_races_its_pop(socket_timeout):
    # Given a Redis read timeout within a second of the blocking pop (the 5 s and 5 s)
    with pytest.raises(ImproperlyConfigured, match="must exceed its blocking pop"):
        RedisChannelLayer(
            hosts=[{"address": "redis://127.0.0.1:6379/1", "socket_timeout": socket_timeout}],
            blocking_pop_seconds=5,
        )


def test_the_layer_refuses_redis_py_s_default_read_timeout_against_upstream_s_pop():
    with pytest.raises(ImproperlyConfigured):
        RedisChannelLayer(hosts=["redis://127.0.0.1:6379/1"], blocking_pop_seconds=5)


def test_the_layer_pops_for_the_configured_time():
    layer = RedisChannelLayer(
        hosts=[{"address": "redis://127.0.0.1:6379/1", "socket_timeout": 3}],
        blocking_pop_seconds=1.5,
    )
    assert layer.brpop_timeout == 1.5


def test_presence_is_refreshed_within_its_window():
    # Each open socket refreshes presence on its re-check timer; a slower timer would show
    # connected agents offline between two refreshes.
    assert timedelta(seconds=settings.SCRM_WS_RECHECK_SECONDS) < PRESENCE_WINDOW


def test_serve_passes_the_websocket_ping_timing_to_uvicorn(settings, monkeypatch):
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    settings.SCRM_WS_PING_INTERVAL, settings.SCRM_WS_PING_TIMEOUT = 7.0, 3.0
    settings.SCRM_RUN_SCHEDULER = False

    call_command("serve", workers=1)

    assert (seen["ws_ping_interval"], seen["ws_ping_timeout"]) == (7.0, 3.0)
