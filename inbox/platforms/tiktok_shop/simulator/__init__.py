"""A faithful local simulator of the TikTok Shop Open API (no Django; see
docs/platforms/tiktok-shop.md).

    sim = Simulator(auto_push=False)
    sim.add_app("key", "secret")
    cipher = sim.add_shop("key", shop_id="7001", name="Demo US", region="US")
    server = SimulatorServer(sim).start()   # server.base_url
"""

from inbox.platforms.tiktok_shop.simulator.core import Simulator
from inbox.platforms.tiktok_shop.simulator.server import SimulatorServer

__all__ = ["Simulator", "SimulatorServer"]
