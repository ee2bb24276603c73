"""The simulator's Starlette app: the Open API's paths, checks and envelope, plus ``/_sim/``.

Every call is checked in the platform's order of concerns: injected fault, no query key
repeated, then (signed calls) ``app_key``, ``sign`` present, ``timestamp`` window, ``sign``
correct, ``x-tts-access-token`` valid and not expired, ``shop_cipher`` required (or refused) and
authorised, then the rate limit. The app answers the same whether served at the root or under a
prefix such as ``/simulator/tiktok`` (``scope["root_path"]``): a signature over the path below
the prefix or over the full path is accepted, each spelled decoded (as the project's connector
signs) or as sent, percent-encoded (as a client that signs the URL it sends does).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox.platforms.tiktok_shop.signing import sign_request
from inbox.platforms.tiktok_shop.simulator import (
    control,
    control_cases,
    handlers,
    orders,
    performance,
    returns,
)
from inbox.platforms.tiktok_shop.simulator.ids import request_id
from inbox.platforms.tiktok_shop.simulator.state import (
    CODE_EXPIRED_TOKEN,
    CODE_INTERNAL_ERROR,
    CODE_INVALID_METHOD,
    CODE_INVALID_PATH,
    CODE_INVALID_REQUEST,
    CODE_INVALID_SIGN,
    CODE_INVALID_TOKEN,
    CODE_MISSING_CIPHER,
    CODE_TOO_MANY_REQUESTS,
    ApiError,
    App,
    Grant,
    Shop,
    bad_param,
)

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

TIMESTAMP_PAST = 300  # "earlier than 5 minutes before the current time"
TIMESTAMP_FUTURE = 30  # "exceed the current time by more than 30 seconds"


@dataclass
class Call:
    """A request that passed the checks, as the business handlers see it."""

    app: App
    grant: Grant
    shop: Shop | None
    query: dict[str, str]
    path_params: dict[str, str]
    body: Any


def route_path(scope: MutableMapping[str, Any]) -> str:
    """The path below the mount point, whether or not ``path`` includes ``root_path``."""
    return _below(scope["path"], scope.get("root_path", ""))


def _below(path: str, root: str) -> str:
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


def signed_paths(scope: MutableMapping[str, Any]) -> list[str]:
    """Every spelling of the request's path a client may have signed, most likely first: below
    the mount point and in full (mount point included), each decoded and as sent on the wire
    (``raw_path``: ``/conversations/ab%3D/messages`` is signed so by a client that encodes the
    segment, and reaches the routes decoded, ``ab=``)."""
    below = route_path(scope)
    root: str = scope.get("root_path", "")
    paths = [below, root + below] if root else [below]
    raw_path = scope.get("raw_path")
    if isinstance(raw_path, bytes) and raw_path:
        # latin-1 never fails; a path that is not ASCII on the wire matches nothing anyway.
        raw = raw_path.partition(b"?")[0].decode("latin-1")
        raw_root = quote(root)  # the mount point as it appears on the wire
        raw_below = _below(raw, raw_root)
        paths += [raw_below, raw_root + raw_below] if root else [raw_below]
    return list(dict.fromkeys(paths))


def repeated_query_keys(request: Request) -> list[str]:
    """Query keys given more than once (``?ids=1&ids=2``), sorted."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    return sorted(key for key, n in counts.items() if n > 1)


def refuse_repeated_keys(request: Request) -> None:
    """A repeated key is refused: clients disagree on how to sign one (each occurrence, the
    values comma-joined, or the first value only), so no answer to it could be trusted."""
    repeated = repeated_query_keys(request)
    if repeated:
        names = ", ".join(key[:64] for key in repeated[:5])
        raise bad_param(
            f"The query parameter {names} is repeated. Send each query parameter once; "
            "several values go comma-separated in one."
        )


def envelope(status: int, code: int, message: str, data: Any) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "request_id": request_id(), "data": data},
        status_code=status,
    )


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_param("The request body is not valid JSON.") from exc


def authenticate(
    sim: Simulator, request: Request, paths: Sequence[str], raw: bytes, *, shop_scoped: bool
) -> tuple[App, Grant, Shop | None]:
    """The checks of a signed call (the query's keys are already known to be unique);
    ``paths``: the spellings of the path a signature may cover (:func:`signed_paths`)."""
    q = request.query_params
    with sim.lock:
        app = sim.apps.get(q.get("app_key", ""))
    if app is None:
        raise ApiError(
            401, CODE_INVALID_REQUEST, "Invalid app_key. The app_key query parameter is invalid."
        )
    sign = q.get("sign")
    if not sign:
        raise ApiError(
            401,
            CODE_INVALID_REQUEST,
            "Missing signature. The sign query parameter is required for this API.",
        )
    now = sim.clock()
    try:
        timestamp = int(q.get("timestamp", ""))
    except ValueError:
        timestamp = -1
    if timestamp < 0:
        raise ApiError(
            401, CODE_INVALID_REQUEST, "Invalid timestamp. The timestamp must not be lesser than 0."
        )
    if timestamp < now - TIMESTAMP_PAST:
        raise ApiError(
            401,
            CODE_INVALID_REQUEST,
            "Invalid timestamp. The timestamp is earlier than 5 minutes before the current time.",
        )
    if timestamp > now + TIMESTAMP_FUTURE:
        raise ApiError(
            401,
            CODE_INVALID_REQUEST,
            "Invalid timestamp. The timestamp exceeds the current time by more than 30 seconds.",
        )
    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    query = dict(request.query_params)
    body = b"" if multipart else raw
    signed = [sign_request(app.app_secret, path, query, body) for path in paths]
    # Each compared in constant time, and all of them: which spelling matched is not timed.
    given = sign.lower().encode()  # bytes: a non-ASCII sign is wrong, not a server error
    matches = [hmac.compare_digest(expected.encode(), given) for expected in signed]
    if not any(matches):
        raise ApiError(
            401, CODE_INVALID_SIGN, "Invalid credentials. The sign query parameter is invalid."
        )
    token = request.headers.get("x-tts-access-token", "")
    with sim.lock:
        grant = sim.grants_by_access.get(token) if token else None
        if grant is None or not grant.access_valid or grant.app_key != app.app_key:
            raise ApiError(
                401,
                CODE_INVALID_TOKEN,
                "Invalid query or header. The x-tts-access-token header is invalid.",
            )
        if grant.access_expires <= now:
            raise ApiError(
                401,
                CODE_EXPIRED_TOKEN,
                "Expired credentials. The x-tts-access-token header has expired.",
            )
        cipher = q.get("shop_cipher")
        shop = None
        if not shop_scoped and cipher is not None:
            raise ApiError(
                400,
                CODE_INVALID_REQUEST,
                "Unexpected identifier. The shop_cipher query parameter is not required for "
                "this API. Remove it and try again.",
            )
        if shop_scoped:
            if not cipher:
                raise ApiError(
                    400,
                    CODE_MISSING_CIPHER,
                    "Missing identifier. The shop_cipher query parameter is required.",
                )
            shop = sim.shops_by_cipher.get(cipher)
            if shop is None or shop.shop_id not in grant.shop_ids:
                raise ApiError(
                    403,
                    CODE_INVALID_REQUEST,
                    "Invalid shop_cipher. The shop is not authorized for this access token.",
                )
    return app, grant, shop


Handler = Callable[[Any, Any], Any]


def api_route(sim: Simulator, template: str, method: str, handler: Handler, *, kind: str) -> Route:
    """``kind``: ``token`` (unsigned), ``global`` (signed, no cipher) or ``shop``."""

    async def view(request: Request) -> Response:
        path = route_path(request.scope)
        late_answer = 0.0
        try:
            fault = sim.take_fault(path, request.method)
            if fault is not None:
                if fault.kind == "delay":
                    await asyncio.sleep(fault.delay)
                elif fault.kind == "delay_after":
                    # The request takes effect now; only the answer is late (a caller that dies
                    # meanwhile never learns it succeeded).
                    late_answer = fault.delay
                elif fault.kind == "rate_limit":
                    raise ApiError(
                        429,
                        CODE_TOO_MANY_REQUESTS,
                        "Too many requests. You've made too many requests in a short period of "
                        "time. Please try again later.",
                    )
                else:
                    raise ApiError(
                        503, CODE_INTERNAL_ERROR, "Internal error. Please try again later."
                    )
            refuse_repeated_keys(request)
            raw = await request.body()
            if kind == "token":
                data = handler(sim, dict(request.query_params))
            else:
                app, grant, shop = authenticate(
                    sim, request, signed_paths(request.scope), raw, shop_scoped=kind == "shop"
                )
                if not sim.allow_request(app.app_key, method, template):
                    raise ApiError(
                        429,
                        CODE_TOO_MANY_REQUESTS,
                        "Too many requests. You've made too many requests in a short period of "
                        "time. Please try again later.",
                    )
                with sim.lock:
                    sim.api_calls[method, template] += 1
                body = parse_json(raw) if method != "GET" else {}
                with sim.lock:
                    sim.requests.append((method, template, dict(request.query_params), body))
                call = Call(
                    app, grant, shop, dict(request.query_params), dict(request.path_params), body
                )
                data = handler(sim, call)
        except ApiError as error:
            return envelope(error.http_status, error.code, error.message, None)
        if late_answer:
            await asyncio.sleep(late_answer)
        return envelope(200, 0, "Success", data)

    return Route(template, view, methods=[method], name=f"{method} {template}")


def _merge_methods(routes: list[Route]) -> list[Route]:
    """One Route per path, dispatching on method (Starlette would 405 the second otherwise)."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for route in routes:
        for method in route.methods or ():
            if method != "HEAD":
                by_path.setdefault(route.path, {})[method] = route.endpoint
    merged = []
    for path, views in by_path.items():

        async def dispatch(
            request: Request, views: dict[str, Callable[[Request], Awaitable[Response]]] = views
        ) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await views[method](request)

        merged.append(Route(path, dispatch, methods=list(views)))
    return merged


async def _not_found(request: Request, exc: Exception) -> Response:
    return envelope(404, CODE_INVALID_PATH, "Invalid path. Check the API path.", None)


async def _bad_method(request: Request, exc: Exception) -> Response:
    return envelope(405, CODE_INVALID_METHOD, "Invalid method. Check the HTTP method.", None)


def build_app(sim: Simulator) -> Starlette:
    """The Open API's routes, each at the versions served (docs/platforms/tiktok-shop.md has
    which is current and why), plus the control API."""
    cs = "/customer_service/202309"
    messages = "/conversations/{conversation_id}/messages"
    rr = "/return_refund/202309"
    spec: list[tuple[str, str, Handler, str]] = [
        ("/api/v2/token/get", "GET", handlers.token_get, "token"),
        ("/api/v2/token/refresh", "GET", handlers.token_refresh, "token"),
        ("/authorization/202309/shops", "GET", handlers.shops, "global"),
        (f"{cs}/conversations", "GET", handlers.conversations_list, "shop"),
        (f"{cs}/conversations", "POST", handlers.conversation_create, "shop"),
        (f"{cs}{messages}", "GET", handlers.messages_list, "shop"),
        (f"{cs}{messages}", "POST", handlers.message_send_202309, "shop"),
        (f"/customer_service/202606{messages}", "POST", handlers.message_send_202606, "shop"),
        (f"{cs}{messages}/read", "POST", handlers.read, "shop"),
        (f"{cs}/agents/settings", "GET", handlers.agent_settings_get, "shop"),
        (f"{cs}/agents/settings", "PUT", handlers.agent_settings_put, "shop"),
        ("/customer_service/202407/performance", "GET", performance.performance, "shop"),
        ("/event/202309/webhooks", "GET", handlers.webhooks_get, "shop"),
        ("/event/202309/webhooks", "PUT", handlers.webhooks_put, "shop"),
        ("/event/202309/webhooks", "DELETE", handlers.webhooks_delete, "shop"),
        (f"{rr}/returns/search", "POST", returns.returns_search_202309, "shop"),
        ("/return_refund/202602/returns/search", "POST", returns.returns_search_202602, "shop"),
        (f"{rr}/returns/{{return_id}}/approve", "POST", returns.return_approve, "shop"),
        (f"{rr}/returns/{{return_id}}/reject", "POST", returns.return_reject_202309, "shop"),
        (
            "/return_refund/202606/returns/{return_id}/reject",
            "POST",
            returns.return_reject_202606,
            "shop",
        ),
        (f"{rr}/returns/{{return_id}}/records", "GET", returns.return_records, "shop"),
        (f"{rr}/reject_reasons", "GET", returns.reject_reasons, "shop"),
        (
            "/return_refund/202602/cancellations/search",
            "POST",
            orders.cancellations_search,
            "shop",
        ),
        (f"{rr}/cancellations/{{cancel_id}}/approve", "POST", orders.cancellation_approve, "shop"),
        (f"{rr}/cancellations/{{cancel_id}}/reject", "POST", orders.cancellation_reject, "shop"),
        ("/order/202507/orders", "GET", orders.order_detail, "shop"),
    ]
    routes = [api_route(sim, path, method, fn, kind=kind) for path, method, fn, kind in spec]
    routes += control.routes(sim) + control_cases.routes(sim)
    return Starlette(
        routes=_merge_methods(routes),
        exception_handlers={404: _not_found, 405: _bad_method},
    )
