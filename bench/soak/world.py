"""The soak's world: an organisation with a short SLA policy, its shops on the simulator, its
agents with a session and an API token each."""

from __future__ import annotations

APP_KEY = "soak_app_key"
APP_SECRET = "soak_app_secret_0123456789"  # noqa: S105 - simulator only
SHOP_BASE = 7499100000000000000


# --- the world ---------------------------------------------------------------------------------
def world_create(sim, *, shops: int, agents: int, per_shop: int, webhook_url: str) -> dict:
    """An organisation with a short SLA policy, ``shops`` shop accounts connected to the
    simulator, ``agents`` agents each on ``shops * per_shop / agents`` shops; returns the shop
    ids, each agent's (session key, API token, shop ids)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from inbox.models import Member, Organisation, ShopAccount, ShopMembership
    from inbox.services.tokens import token_create
    from monitoring.models.sla import SlaPolicy
    from tests.inbox.platform_world import granted_credentials

    sim.add_app(APP_KEY, APP_SECRET)
    org = Organisation.objects.create(name="Soak", slug="soak")
    SlaPolicy.objects.create(
        organisation=org,
        first_reply_minutes=3,
        next_reply_minutes=3,
        warning_minutes=[2],
        same_day_enabled=False,
    )
    shop_rows, platform_ids = [], []
    for i in range(shops):
        shop_id = str(SHOP_BASE + i)
        cipher = sim.add_shop(APP_KEY, shop_id=shop_id, name=f"Soak {i}", region="US")
        credentials = granted_credentials(
            sim, app_key=APP_KEY, app_secret=APP_SECRET, shop_id=shop_id, cipher=cipher
        )
        sim.subscribe(shop_id, "NEW_MESSAGE", webhook_url)
        shop_rows.append(
            ShopAccount.objects.create(
                organisation=org,
                platform="tiktok_shop",
                platform_shop_id=shop_id,
                name=f"Soak {i}",
                region="US",
                credentials=credentials.to_dict(),
            )
        )
        platform_ids.append(shop_id)
    # Shop s has agents s, s + stride, s + 2 * stride, ... (mod agents): every shop has
    # ``per_shop`` agents and every agent about ``shops * per_shop / agents`` shops.
    stride = max(1, agents // per_shop)
    shops_of: dict[int, set[int]] = {a: set() for a in range(agents)}
    for s in range(shops):
        for r in range(min(per_shop, agents)):
            shops_of[(s + r * stride) % agents].add(s)
    people = []
    for a in range(agents):
        user = get_user_model().objects.create_user(f"soak-agent{a}")  # no password hashing
        Member.objects.create(user=user, organisation=org, role="agent")
        mine = sorted(shops_of[a])
        for s in mine:
            ShopMembership.objects.create(user=user, shop_account=shop_rows[s])
        client = Client()
        client.force_login(user)
        _token, key = token_create(user=user, name="soak", via="api")
        people.append(
            {
                "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "token": key,
                "shops": [platform_ids[s] for s in mine],
            }
        )
    uncovered = set(platform_ids) - {s for p in people for s in p["shops"]}
    if uncovered:
        raise RuntimeError(f"{len(uncovered)} shops have no agent")
    return {"shops": platform_ids, "people": people}
