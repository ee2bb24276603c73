"""``python -m inbox.platforms.tiktok_shop.simulator --port 8100 [...]``: serve it standalone.

Prints the app credentials, shop ciphers and a ready-made token pair so a connector can be
pointed at it at once; the control API is under ``/_sim/`` (docs/platforms/tiktok-shop.md).
"""

from __future__ import annotations

import argparse
import logging

from inbox.platforms.tiktok_shop.simulator.core import Simulator
from inbox.platforms.tiktok_shop.simulator.server import SimulatorServer

SUBSCRIBED_EVENTS = (
    "NEW_MESSAGE",
    "NEW_CONVERSATION",
    "RETURN_STATUS_CHANGE",
    "CANCELLATION_STATUS_CHANGE",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local TikTok Shop Open API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--root-path", default="", help="serve under this prefix")
    parser.add_argument("--app-key", default="sim_app_key")
    parser.add_argument("--app-secret", default="sim_app_secret")
    parser.add_argument(
        "--shop",
        action="append",
        default=[],
        metavar="ID:NAME:REGION",
        help="a shop to register (repeatable); default 7000000000000000001:Demo US:US",
    )
    parser.add_argument("--traffic-per-minute", type=float, default=0.0)
    parser.add_argument("--webhook-address", default="", help="subscribe every shop to this URL")
    parser.add_argument("--rate-limit-qps", type=float, default=50.0, help="0 disables")
    parser.add_argument("--access-token", default=None, help="fixed demo access token")
    parser.add_argument("--refresh-token", default=None, help="fixed demo refresh token")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    sim = Simulator(auto_push=True, rate_limit_qps=args.rate_limit_qps or None)
    sim.add_app(args.app_key, args.app_secret)
    shops = args.shop or ["7000000000000000001:Demo US:US"]
    shop_ids = []
    for spec in shops:
        shop_id, name, region = [*spec.split(":", 2), "", ""][:3]
        cipher = sim.add_shop(args.app_key, shop_id=shop_id, name=name or shop_id, region=region)
        shop_ids.append(shop_id)
        print(f"shop {shop_id} cipher={cipher}")
        if args.webhook_address:
            for event_type in SUBSCRIBED_EVENTS:
                sim.subscribe(shop_id, event_type, args.webhook_address)
    tokens = sim.grant(
        args.app_key, shop_ids, access_token=args.access_token, refresh_token=args.refresh_token
    )
    print(f"app_key={args.app_key} access_token={tokens['access_token']}")
    print(f"refresh_token={tokens['refresh_token']}")
    print(f"auth_code={sim.issue_auth_code(args.app_key, shop_ids)}")
    if args.traffic_per_minute > 0:
        sim.start_traffic(per_minute=args.traffic_per_minute, shop_ids=shop_ids)
    server = SimulatorServer(sim, args.host, args.port, root_path=args.root_path).start()
    print(f"serving on {server.base_url}")
    server.serve_forever()


if __name__ == "__main__":
    main()
