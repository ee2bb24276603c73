"""Apps, shops and grants: the part of :class:`.core.Simulator` that onboarding and auth use.

Split out of ``core.py`` (a mixin, so ``sim.add_shop(...)`` and friends keep their names).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from inbox.platforms.tiktok_shop.simulator.ids import IdGenerator, random_token
from inbox.platforms.tiktok_shop.simulator.state import App, AuthCode, Grant, Shop

AUTH_CODE_TTL = 30 * 60


class AccountsMixin:
    """Apps, shops, authorisation codes and token grants (state on the simulator)."""

    lock: threading.Lock
    clock: Callable[[], float]
    ids: IdGenerator
    apps: dict[str, App]
    shops: dict[str, Shop]
    shops_by_cipher: dict[str, Shop]
    auth_codes: dict[str, AuthCode]
    grants_by_access: dict[str, Grant]
    grants_by_refresh: dict[str, Grant]

    def add_app(self, app_key: str, app_secret: str) -> None:
        with self.lock:
            self.apps[app_key] = App(app_key, app_secret)

    def add_shop(
        self,
        app_key: str,
        *,
        shop_id: str,
        name: str,
        region: str,
        cipher: str | None = None,
        seller_type: str = "CROSS_BORDER",
    ) -> str:
        """Register a shop under an app; returns its cipher (generated when not given)."""
        with self.lock:
            if app_key not in self.apps:
                raise KeyError(f"unknown app_key {app_key!r}")
            cipher = cipher or random_token("ROW_", 32)
            shop = Shop(
                shop_id=shop_id,
                app_key=app_key,
                name=name,
                region=region,
                cipher=cipher,
                seller_type=seller_type,
                code=region.upper()[:2] + "LC" + shop_id[-6:].upper(),
                im_user_id=self.ids.next(),
            )
            old = self.shops.get(shop_id)
            if old is not None:
                self.shops_by_cipher.pop(old.cipher, None)
                shop.webhooks = old.webhooks
            self.shops[shop_id] = shop
            self.shops_by_cipher[cipher] = shop
            return cipher

    def issue_auth_code(self, app_key: str, shop_ids: list[str]) -> str:
        """A single-use authorisation code, valid 30 minutes, as the consent redirect gives."""
        with self.lock:
            self._check_shops(app_key, shop_ids)
            code = random_token("SIMAC_", 32)
            self.auth_codes[code] = AuthCode(
                code, app_key, list(shop_ids), self.clock() + AUTH_CODE_TTL
            )
            return code

    def grant(
        self,
        app_key: str,
        shop_ids: list[str],
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        access_ttl: int = 7 * 86400,
        refresh_ttl: int = 30 * 86400,
    ) -> dict[str, Any]:
        """Create a token pair directly (fixed tokens let a demo survive a restart)."""
        with self.lock:
            self._check_shops(app_key, shop_ids)
            grant = self._new_grant(
                app_key,
                shop_ids,
                access_token=access_token,
                refresh_token=refresh_token,
                access_ttl=access_ttl,
                refresh_ttl=refresh_ttl,
            )
            return {
                "access_token": grant.access_token,
                "access_token_expire_in": grant.access_expires,
                "refresh_token": grant.refresh_token,
                "refresh_token_expire_in": grant.refresh_expires,
            }

    def expire_access_token(self, access_token: str) -> None:
        """Expire one access token now (its refresh token still works)."""
        self.expire_tokens(access_token=access_token)

    def expire_tokens(
        self, *, access_token: str = "", shop_id: str = "", refresh: bool = False
    ) -> int:
        """Expire the access token given, or those of every live grant covering ``shop_id``;
        the next signed call with one is answered 105002 (expired). With ``refresh`` the
        refresh tokens expire too, so a refresh is refused and the seller must authorise again.
        Returns how many grants were expired; KeyError when none matches."""
        if bool(access_token) == bool(shop_id):
            raise ValueError("give exactly one of access_token and shop_id")
        with self.lock:
            if access_token:
                grants = [self.grants_by_access[access_token]]
            else:
                grants = [
                    g
                    for g in self.grants_by_access.values()
                    if shop_id in g.shop_ids and g.access_valid
                ]
                if not grants:
                    raise KeyError(f"no live grant covers shop {shop_id!r}")
            past = int(self.clock()) - 1
            for grant in grants:
                grant.access_expires = min(grant.access_expires, past)
                if refresh:
                    grant.refresh_expires = min(grant.refresh_expires, past)
            return len(grants)

    def _check_shops(self, app_key: str, shop_ids: list[str]) -> None:
        if app_key not in self.apps:
            raise KeyError(f"unknown app_key {app_key!r}")
        for shop_id in shop_ids:
            if shop_id not in self.shops or self.shops[shop_id].app_key != app_key:
                raise KeyError(f"shop {shop_id!r} is not registered under this app")

    def _new_grant(
        self,
        app_key: str,
        shop_ids: list[str],
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        access_ttl: int = 7 * 86400,
        refresh_ttl: int = 30 * 86400,
        open_id: str | None = None,
    ) -> Grant:
        now = int(self.clock())
        grant = Grant(
            access_token=access_token or random_token("ROW_", 48),
            refresh_token=refresh_token or random_token("ROW_", 48),
            app_key=app_key,
            shop_ids=list(shop_ids),
            access_expires=now + access_ttl,
            refresh_expires=now + refresh_ttl,
            open_id=open_id or random_token("", 24),
        )
        self.grants_by_access[grant.access_token] = grant
        self.grants_by_refresh[grant.refresh_token] = grant
        return grant
