"""The demo's TikTok Shop: one simulated app with the three demo shops, served in-process.

The simulator keeps its state in memory, so the server re-creates the same app, shops, ciphers
and tokens at every start; ``seed_demo`` stores the matching credentials in the database.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from inbox.platforms.base import Credentials

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator import Simulator

DEMO_APP_KEY = "demo_app_key"
DEMO_APP_SECRET = "demo_app_secret_not_for_production"  # noqa: S105 - simulator only
TEN_YEARS = 10 * 365 * 86400
DEMO_EVENTS = (
    "NEW_MESSAGE",
    "NEW_CONVERSATION",
    "RETURN_STATUS_CHANGE",
    "CANCELLATION_STATUS_CHANGE",
)

# platform shop id, name, region, time zone
DEMO_SHOPS = [
    ("7000000000000000001", "Sunny Home US", "US", "America/Los_Angeles"),
    ("7000000000000000002", "Sunny Home UK", "GB", "Europe/London"),
    ("7000000000000000003", "Sunny Home MY", "MY", "Asia/Kuala_Lumpur"),
]


def demo_cipher(shop_id: str) -> str:
    return f"DEMO_CIPHER_{shop_id[-4:]}"


def demo_tokens(shop_id: str) -> tuple[str, str]:
    return f"demo-access-{shop_id[-4:]}", f"demo-refresh-{shop_id[-4:]}"


def demo_credentials(shop_id: str) -> dict:
    access, refresh = demo_tokens(shop_id)
    return Credentials(
        app_key=DEMO_APP_KEY,
        app_secret=DEMO_APP_SECRET,
        access_token=access,
        refresh_token=refresh,
        shop_cipher=demo_cipher(shop_id),
        shop_id=shop_id,
    ).to_dict()


_lock = threading.Lock()
_simulator: Simulator | None = None


def demo_simulator(webhook_address: str) -> Simulator:
    """The process's simulator with the demo shops, webhooks pointing at ``webhook_address``."""
    global _simulator
    with _lock:
        if _simulator is None:
            from inbox.platforms.tiktok_shop.simulator import Simulator

            sim = Simulator(auto_push=True)
            sim.add_app(DEMO_APP_KEY, DEMO_APP_SECRET)
            for shop_id, name, region, _tz in DEMO_SHOPS:
                sim.add_shop(
                    DEMO_APP_KEY,
                    shop_id=shop_id,
                    name=name,
                    region=region,
                    cipher=demo_cipher(shop_id),
                )
                access, refresh = demo_tokens(shop_id)
                sim.grant(
                    DEMO_APP_KEY,
                    [shop_id],
                    access_token=access,
                    refresh_token=refresh,
                    access_ttl=TEN_YEARS,
                    refresh_ttl=TEN_YEARS,
                )
                for event_type in DEMO_EVENTS:
                    sim.subscribe(shop_id, event_type, webhook_address)
            # Evidence photos are served by the simulator, mounted beside the webhooks.
            sim.public_url = webhook_address.split("/webhooks/")[0] + "/simulator/tiktok"
            _simulator = sim
        return _simulator
