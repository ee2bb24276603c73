"""The control API's after-sales part (``/_sim/``, test and demo only): what buyers and the
platform do to a case besides the seller's decision, webhook faults of the background push,
and the evidence photos the simulator serves. Same envelope and 400/40006 as :mod:`.control`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbox.platforms.tiktok_shop.simulator import media
from inbox.platforms.tiktok_shop.simulator.control import CODE_BAD_CONTROL, _body

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator


def routes(sim: Simulator) -> list[Route]:
    from inbox.platforms.tiktok_shop.simulator.api import envelope

    def wrap(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def view(request: Request) -> Response:
            try:
                data = fn(await _body(request))
            except (KeyError, ValueError, TypeError) as exc:
                return envelope(400, CODE_BAD_CONTROL, f"Bad control request: {exc!r}", None)
            return envelope(200, 0, "Success", data)

        return view

    def withdraw(body: dict[str, Any]) -> Any:
        sim.buyer_withdraw(str(body["case_id"]))
        return {}

    def withdraw_before_decision(body: dict[str, Any]) -> Any:
        sim.withdraw_before_decision(
            str(body.get("case_id") or "*"), count=int(body.get("count", 1))
        )
        return {}

    def arbitration(body: dict[str, Any]) -> Any:
        action = str(body.get("action"))
        if action == "escalate":
            sim.return_escalate(str(body["return_id"]))
        else:
            sim.arbitration_rule(str(body["return_id"]), action)
        return {}

    def expire_deadlines(body: dict[str, Any]) -> Any:
        at = body.get("at")
        return {"decided": sim.expire_deadlines(None if at is None else float(at))}

    def webhook_faults(body: dict[str, Any]) -> Any:
        types = body.get("event_types")
        sim.set_webhook_faults(
            duplicate=int(body.get("duplicate", 1)),
            shuffle=bool(body.get("shuffle", False)),
            drop=float(body.get("drop", 0.0)),
            jitter=float(body.get("jitter", 0.0)),
            seed=int(body.get("seed", 0)),
            event_types=None if types is None else [str(t) for t in types],
        )
        return {}

    async def evidence(request: Request) -> Response:
        name = str(request.path_params["name"])
        try:
            content = media.png(name)
        except KeyError:
            return envelope(404, CODE_BAD_CONTROL, "No such evidence photo.", None)
        return Response(
            content,
            media_type="image/png",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return [
        Route("/_sim/withdraw", wrap(withdraw), methods=["POST"]),
        Route("/_sim/withdraw_before_decision", wrap(withdraw_before_decision), methods=["POST"]),
        Route("/_sim/arbitration", wrap(arbitration), methods=["POST"]),
        Route("/_sim/expire_deadlines", wrap(expire_deadlines), methods=["POST"]),
        Route("/_sim/webhook_faults", wrap(webhook_faults), methods=["POST"]),
        Route("/_sim/media/evidence/{name}.png", evidence, methods=["GET"]),
    ]
