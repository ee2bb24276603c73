"""The test-only control API under ``/_sim/``: unsigned JSON, never to be exposed publicly.

Answers use the Open API's envelope (``{"code", "message", "request_id", "data"}``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

CODE_BAD_CONTROL = 40006


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def routes(sim: Simulator) -> list[Route]:
    from inbox.platforms.tiktok_shop.simulator.api import envelope

    def wrap(fn: Callable[[dict[str, Any], Request], Awaitable[Any]]) -> Any:
        async def view(request: Request) -> Response:
            try:
                data = await fn(await _body(request), request)
            except (KeyError, ValueError, TypeError) as exc:
                return envelope(400, CODE_BAD_CONTROL, f"Bad control request: {exc!r}", None)
            return envelope(200, 0, "Success", data)

        return view

    async def buyer_message(body: dict[str, Any], request: Request) -> Any:
        conversation_id, message_id = sim.buyer_message(
            str(body["shop_id"]),
            buyer_user_id=str(body["buyer_user_id"]),
            nickname=str(body.get("nickname") or "Buyer"),
            text=body.get("text"),
            type=str(body.get("type") or "TEXT"),
            content=body.get("content"),
        )
        return {"conversation_id": conversation_id, "message_id": message_id}

    async def return_decisions(body: dict[str, Any], request: Request) -> Any:
        """Every approve/reject the simulator recorded (returns and cancellations), oldest
        first, optionally of one shop: what tests count ("exactly one decision")."""
        shop_id = request.query_params.get("shop_id")
        with sim.lock:
            cases = [("return", r.return_id, r) for r in sim.returns.values()] + [
                ("cancellation", c.cancel_id, c) for c in sim.cancellations.values()
            ]
            found = [
                {
                    "shop_id": case.shop_id,
                    "family": family,
                    "id": ident,
                    "action": d.get("action", ""),
                    "decision": d.get("decision", d.get("action", "").upper()),
                    "reject_reason": d.get("reject_reason", ""),
                    "idempotency_key": d.get("idempotency_key", ""),
                    "time": d.get("time", 0),
                }
                for family, ident, case in cases
                if shop_id in (None, case.shop_id)
                for d in case.decisions
            ]
        return {"decisions": sorted(found, key=lambda d: (d["time"], d["id"]))}

    async def sent_messages(body: dict[str, Any], request: Request) -> Any:
        return {"sent_messages": sim.sent_messages(request.query_params.get("shop_id"))}

    async def deliver(body: dict[str, Any], request: Request) -> Any:
        # Delivery is blocking HTTP, possibly to an app on this very event loop: use a thread.
        return await run_in_threadpool(
            sim.deliver_webhooks,
            duplicate=int(body.get("duplicate", 1)),
            shuffle=bool(body.get("shuffle", False)),
            drop=float(body.get("drop", 0.0)),
            seed=int(body.get("seed", 0)),
            event_types=[str(t) for t in body["event_types"]] if "event_types" in body else None,
            lose=float(body.get("lose", 0.0)),
        )

    async def faults(body: dict[str, Any], request: Request) -> Any:
        sim.set_fault(
            str(body["path_prefix"]),
            str(body["kind"]),
            count=int(body.get("count", 1)),
            delay=float(body.get("delay", 0.0)),
            method=str(body["method"]) if body.get("method") else None,
        )
        return {}

    async def traffic(body: dict[str, Any], request: Request) -> Any:
        if body.get("stop"):
            sim.stop_traffic()
            return {"running": False}
        sim.start_traffic(
            per_minute=float(body.get("per_minute", 6)),
            shop_ids=body.get("shop_ids"),
            seed=body.get("seed"),
        )
        return {"running": True}

    async def return_request(body: dict[str, Any], request: Request) -> Any:
        return_id = sim.return_request(
            str(body["shop_id"]),
            buyer_user_id=str(body["buyer_user_id"]),
            order_id=str(body["order_id"]),
            return_type=str(body.get("return_type") or "REFUND"),
            quick_refund=bool(body.get("quick_refund", False)),
            reason_text=str(body.get("reason_text") or "The item arrived damaged."),
            evidence=[str(name) for name in body.get("evidence") or ()],
        )
        return {"return_id": return_id}

    async def return_update(body: dict[str, Any], request: Request) -> Any:
        sim.return_update(
            str(body["return_id"]), str(body["status"]), role=str(body.get("role") or "BUYER")
        )
        return {}

    async def order(body: dict[str, Any], request: Request) -> Any:
        products = body.get("products")
        order_id = sim.order_create(
            str(body["shop_id"]),
            buyer_user_id=str(body["buyer_user_id"]),
            order_id=str(body["order_id"]) if body.get("order_id") else None,
            products=[
                (str(p["name"]), str(p.get("sku_name") or "Default"), str(p["price"]))
                for p in products
            ]
            if products
            else None,
            status=str(body.get("status") or "AWAITING_SHIPMENT"),
        )
        return {"order_id": order_id}

    async def cancellation_request(body: dict[str, Any], request: Request) -> Any:
        kwargs = {"reason_text": str(body["reason_text"])} if body.get("reason_text") else {}
        cancel_id = sim.cancellation_request(
            str(body["shop_id"]),
            order_id=str(body["order_id"]),
            role=str(body.get("role") or "BUYER"),
            **kwargs,
        )
        return {"cancel_id": cancel_id}

    async def cancellation_update(body: dict[str, Any], request: Request) -> Any:
        sim.cancellation_update(str(body["cancel_id"]), str(body["status"]))
        return {}

    async def auth_code(body: dict[str, Any], request: Request) -> Any:
        return {"auth_code": sim.issue_auth_code(str(body["app_key"]), list(body["shop_ids"]))}

    async def pending(body: dict[str, Any], request: Request) -> Any:
        return {"pending_webhooks": sim.pending_webhooks()}

    async def expire_token(body: dict[str, Any], request: Request) -> Any:
        expired = sim.expire_tokens(
            access_token=str(body.get("access_token") or ""),
            shop_id=str(body.get("shop_id") or ""),
            refresh=bool(body.get("refresh", False)),
        )
        return {"expired_grants": expired}

    async def agent(body: dict[str, Any], request: Request) -> Any:
        action = {"join": sim.agent_join, "leave": sim.agent_leave}.get(str(body.get("action")))
        if action is None:
            raise ValueError("action must be join or leave")
        action(str(body["shop_id"]), str(body["conversation_id"]))
        return {}

    return [
        Route("/_sim/buyer_message", wrap(buyer_message), methods=["POST"]),
        Route("/_sim/sent_messages", wrap(sent_messages), methods=["GET"]),
        Route("/_sim/return_decisions", wrap(return_decisions), methods=["GET"]),
        Route("/_sim/deliver_webhooks", wrap(deliver), methods=["POST"]),
        Route("/_sim/faults", wrap(faults), methods=["POST"]),
        Route("/_sim/traffic", wrap(traffic), methods=["POST"]),
        Route("/_sim/return_request", wrap(return_request), methods=["POST"]),
        Route("/_sim/return_update", wrap(return_update), methods=["POST"]),
        Route("/_sim/order", wrap(order), methods=["POST"]),
        Route("/_sim/cancellation_request", wrap(cancellation_request), methods=["POST"]),
        Route("/_sim/cancellation_update", wrap(cancellation_update), methods=["POST"]),
        Route("/_sim/auth_code", wrap(auth_code), methods=["POST"]),
        Route("/_sim/pending_webhooks", wrap(pending), methods=["GET"]),
        Route("/_sim/expire_token", wrap(expire_token), methods=["POST"]),
        Route("/_sim/agent", wrap(agent), methods=["POST"]),
    ]
