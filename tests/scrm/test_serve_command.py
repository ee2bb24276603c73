"""``manage.py serve``: worker counts it cannot honour are refused before anything starts; on
another port, the demo's simulator delivers its webhooks there."""

from __future__ import annotations

import os

import httpx
import pytest
from django.core.management import CommandError, call_command

from tests.serve import free_port, serve_process, wait_until


def test_embedded_mode_refuses_several_workers(settings):
    # Given the embedded mode (its channel layer lives in one process)
    settings.SERVICES_MODE = False
    # When asked for two workers, then a clear refusal, not a split inbox
    with pytest.raises(CommandError, match="embedded mode serves from one process"):
        call_command("serve", workers=2)


def test_a_worker_count_below_one_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", workers=0)


def test_another_port_from_code_names_the_setting_to_use(monkeypatch):
    # Given settings made for PORT 8000 and no public URL set
    monkeypatch.delenv("SCRM_PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "8000")
    # When serve is called from code (no command line to start again) on another port,
    # then a clear refusal naming what to set, before anything starts
    with pytest.raises(CommandError, match="set PORT=9001"):
        call_command("serve", port=9001)


# --- the demo on another port -------------------------------------------------------------------
def _served_webhook_addresses(port: int) -> set[str]:
    """What the simulator mounted in the server on ``port`` delivers the demo shop's webhooks
    to, read over HTTP with the demo shop's signed credentials (Get Shop Webhooks)."""
    from inbox.demo import DEMO_SHOPS, demo_credentials
    from inbox.platforms.base import Credentials
    from inbox.platforms.tiktok_shop.client import TikTokShopClient

    credentials = Credentials.from_dict(demo_credentials(DEMO_SHOPS[0][0]))
    base = f"http://127.0.0.1:{port}/simulator/tiktok"
    with TikTokShopClient(credentials, api_base=base, auth_base=base) as client:
        data = client.call("GET", "/event/202309/webhooks")
    return {hook["address"] for hook in data["webhooks"]}


@pytest.mark.parametrize("how", ["PORT", "--port"])
def test_the_demo_on_another_port_gets_its_webhooks_there(how, tmp_path):
    # Given the demo (the simulator mounted in the server) served on a port other than 8000,
    # chosen by PORT (as `PORT=9000 make demo` does) or by `manage.py serve --port` alone
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SCRM_PUBLIC_URL", "PORT", "SCRM_TASKS_EAGER")
    }
    env.update(
        DJANGO_DEBUG="1",
        SCRM_SIMULATOR="1",
        SCRM_RUN_SCHEDULER="0",
        SCRM_SQLITE_PATH=str(tmp_path / "demo.sqlite3"),
    )
    server, log = serve_process(port, env, "scrm-demo-port-", port_in_env=how == "PORT")
    try:
        assert wait_until(lambda: _answers(port), timeout=60), log.read_text()
        # Then its simulated shops deliver their webhooks to this server, on this port
        assert _served_webhook_addresses(port) == {f"http://127.0.0.1:{port}/webhooks/tiktok/"}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.unlink(missing_ok=True)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False
