"""Get Customer Service Performance (202407), computed from the simulator's state (split out
of :mod:`.handlers`)."""

from __future__ import annotations

from datetime import UTC, datetime
from json import loads
from typing import TYPE_CHECKING, Any

from inbox.platforms.tiktok_shop.simulator.orders import CURRENCY_BY_REGION
from inbox.platforms.tiktok_shop.simulator.ratings import RATING_TYPE, ratings_between
from inbox.platforms.tiktok_shop.simulator.state import Shop, bad_param

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.api import Call
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

SEVEN_DAYS = 7 * 86400
RESPONDERS = ("SHOP", "CUSTOMER_SERVICE", "ROBOT", "SYSTEM")


def _shop(call: Call) -> Shop:
    assert call.shop is not None  # noqa: S101 - shop-scoped routes always carry one
    return call.shop


def _day(query: dict[str, str], name: str) -> int:
    try:
        day = datetime.strptime(query.get(name, ""), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise bad_param(f"{name} must be a date, YYYY-MM-DD.") from exc
    return int(day.timestamp())


def performance(sim: Simulator, call: Call) -> dict[str, Any]:
    """Sessions = conversations with a buyer message in [ge, lt) (UTC days); the first answer
    after that message is the response (the shop's, or the platform's robot and notices: the
    platform counts automated answers); satisfaction = 4–5 star chat ratings given in the
    period among all of them. A session converts when its buyer orders
    within 7 days of that response; those orders are the ``cs_guided_gmv``."""
    start, end = _day(call.query, "support_date_ge"), _day(call.query, "support_date_lt")
    sessions = responded = converted = rated = satisfied = 0
    waits: list[int] = []
    gmv = 0.0
    with sim.lock:
        shop = _shop(call)
        shop_id = shop.shop_id
        for conversation in sim.shop_conversations(shop_id):
            asked = next(
                (
                    m.create_time
                    for m in conversation.messages
                    if m.role == "BUYER" and start <= m.create_time < end
                ),
                None,
            )
            stars = [
                loads(m.content).get("rating") for m in ratings_between(conversation, start, end)
            ]
            rated += len(stars)
            satisfied += sum(1 for n in stars if isinstance(n, int) and n >= 4)
            if asked is None:
                continue
            sessions += 1
            answer = next(
                (
                    m.create_time
                    for m in conversation.messages
                    if m.role in RESPONDERS and m.type != RATING_TYPE and m.create_time >= asked
                ),
                None,
            )
            if answer is not None and answer - asked <= 86400:
                responded += 1
                waits.append(answer - asked)
            if answer is None:
                continue
            guided = [
                o
                for o in sim.orders.values()
                if o.shop_id == shop_id
                and o.buyer_user_id == conversation.buyer.user_id
                and answer <= o.create_time < answer + SEVEN_DAYS
            ]
            converted += bool(guided)
            gmv += sum(float(o.total) for o in guided)
    return {
        "performance": {
            "support_session_count": sessions,
            "response_percentage": f"{100 * responded / sessions:.1f}" if sessions else "0.0",
            "response_time_mins": f"{sum(waits) / len(waits) / 60:.1f}" if waits else "0.0",
            # 4–5 star ratings among the chats' ratings given in the period (.ratings); a
            # period without ratings shows 100, as Seller Center does with nothing to count
            "satisfaction_percentage": f"{100 * satisfied / rated:.1f}" if rated else "100.0",
            "conversion_rate": f"{100 * converted / sessions:.1f}" if sessions else "0.0",
            "cs_guided_gmv": f"{gmv:.2f}",
            "currency": CURRENCY_BY_REGION.get(shop.region.upper(), "USD"),
        }
    }
