"""A running TikTok Shop simulator wired to the test database's shop accounts."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.models import ShopAccount
from inbox.platforms.base import Credentials
from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer

APP_KEY = "test_app_key"
APP_SECRET = "test_app_secret_0123456789"


def granted_credentials(
    sim: Simulator, *, app_key: str, app_secret: str, shop_id: str, cipher: str
) -> Credentials:
    """The credentials a connected shop holds: a fresh grant of the simulator's tokens for it."""
    tokens = sim.grant(app_key, [shop_id])
    return Credentials(
        app_key=app_key,
        app_secret=app_secret,
        access_token=tokens["access_token"],
        access_token_expires_at=tokens["access_token_expire_in"],
        refresh_token=tokens["refresh_token"],
        refresh_token_expires_at=tokens["refresh_token_expire_in"],
        shop_cipher=cipher,
        shop_id=shop_id,
    )


@dataclass
class PlatformWorld:
    sim: Simulator
    server: SimulatorServer

    def connect_shop(self, shop: ShopAccount) -> None:
        """Register the shop on the simulator, grant tokens, store credentials (encrypted)."""
        cipher = self.sim.add_shop(
            APP_KEY, shop_id=shop.platform_shop_id, name=shop.name, region=shop.region
        )
        shop.credentials = granted_credentials(
            self.sim,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            shop_id=shop.platform_shop_id,
            cipher=cipher,
        ).to_dict()
        shop.save()

    def subscribe(self, shop: ShopAccount, webhook_url: str) -> None:
        for event_type in ("NEW_MESSAGE", "NEW_CONVERSATION", "RETURN_STATUS_CHANGE"):
            self.sim.subscribe(shop.platform_shop_id, event_type, webhook_url)


def start_platform(settings, *, auto_push: bool = False) -> PlatformWorld:
    sim = Simulator(auto_push=auto_push)
    sim.add_app(APP_KEY, APP_SECRET)
    server = SimulatorServer(sim).start()
    settings.TIKTOK_API_BASE = server.base_url
    settings.TIKTOK_AUTH_BASE = server.base_url
    # the same retry logic, with millisecond waits
    settings.TIKTOK_RETRY = {"base": 0.005, "cap": 0.02, "jitter": 0.0}
    return PlatformWorld(sim=sim, server=server)
