"""Every route of the project, found from the URLconf, with what the route tests need to call it.

The fuzz test (tests/test_routes_fuzz.py) and the access test (tests/test_routes_access.py)
take their routes from ``routes()``, never from a list written by hand: a route added later is
exercised by both, or makes them fail until it is described here. What is written by hand is
only what cannot be derived:

- ``PATH_PARAMS``: which planted object fills each path parameter of each route;
- ``BODIES``: a valid request body for the write methods that need one (so the access test
  reaches the access rule rather than stopping at validation);
- ``EXCLUDED``: routes neither test calls, each with the reason.

API routes take their methods and query parameters from the OpenAPI schema (drf-spectacular's
generator, the same schema ``/api/schema/`` serves); an API route missing from the schema is
uncovered. Pages are called with GET and probed with ``PAGE_PARAMS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.datastructures import MultiValueDict

# Objects planted in shop a1 of organisation A (tests/test_routes_access.py builds them):
# which one fills each path parameter. A string starting with "=" is a literal.
PATH_PARAMS: dict[str, dict[str, str]] = {
    "inbox:queue-row": {"conversation_id": "conversation"},
    "inbox:queue-case-row": {"case_id": "case"},
    "inbox:conversation": {"conversation_id": "conversation"},
    "panel:buyer-cases": {"conversation_id": "conversation"},
    "panel:buyer-orders": {"conversation_id": "conversation"},
    "panel:case": {"case_id": "case"},
    "panel:case-card": {"case_id": "case"},
    "panel:case-decide": {"case_id": "case"},
    "inbox:timeline": {"conversation_id": "conversation"},
    "inbox:header": {"conversation_id": "conversation"},
    "inbox:manage-shop": {"shop_account_id": "shop"},
    "inbox:manage-shop-disconnect": {"shop_account_id": "shop"},
    "inbox:manage-person": {"user_id": "person"},
    "invitation-accept": {"token": "=not-a-real-invitation-token"},
    "inbox_api:shop-account-detail": {"pk": "shop"},
    "inbox_api:membership-detail": {"pk": "membership"},
    "inbox_api:conversation-detail": {"pk": "conversation"},
    "inbox_api:conversation-messages": {"pk": "conversation"},
    "inbox_api:message-retry": {"pk": "conversation", "message_id": "reply"},
    "inbox_api:note-create": {"pk": "conversation"},
    "inbox_api:mark-read": {"pk": "conversation"},
    "inbox_api:token-detail": {"pk": "token"},
    "inbox_api:case-detail": {"pk": "case"},
    "inbox_api:case-reject-reasons": {"pk": "case"},
    "inbox_api:case-approve": {"pk": "case"},
    "inbox_api:case-reject": {"pk": "case"},
    "inbox_api:token-rotate": {"pk": "token"},
    "quick_replies:edit": {"quick_reply_id": "quick_reply"},
    "quick_replies:material": {"material_id": "material"},
    "templates_api:material-detail": {"pk": "material"},
    "templates_api:material-archive": {"pk": "material"},
    "templates_api:material-unarchive": {"pk": "material"},
    "templates_api:material-download": {"pk": "material"},
    "templates_api:quick-reply-detail": {"pk": "quick_reply"},
    "templates_api:quick-reply-archive": {"pk": "quick_reply"},
    "templates_api:quick-reply-unarchive": {"pk": "quick_reply"},
    "templates_api:quick-reply-render": {"pk": "quick_reply"},
    "templates_api:quick-reply-use": {"pk": "quick_reply"},
    "webhook": {"platform": "=tiktok"},
    "sla:shop-policy": {"shop_account_id": "shop"},
    "sla:calendar": {"shop_account_id": "shop"},
    "sla:channel-edit": {"channel_id": "channel"},
    "sla:channel-delete": {"channel_id": "channel"},
    "sla:channel-test": {"channel_id": "channel"},
    "sla_api:alert-read": {"pk": "alert"},
    "sla:insights-shop": {"shop_account_id": "shop"},
    "sla:insights-csv": {"shop_account_id": "shop"},
    "sla_api:insights-shop": {"shop_account_id": "shop"},
    "monitor:violation-acknowledge": {"violation_id": "violation"},
    "monitor:violation-dismiss": {"violation_id": "violation"},
    "monitor:violation-escalate": {"violation_id": "violation"},
    "monitor:violation-allow": {"violation_id": "violation"},
    "monitor_api:violation-detail": {"pk": "violation"},
    "monitor_api:violation-acknowledge": {"pk": "violation"},
    "monitor_api:violation-dismiss": {"pk": "violation"},
    "monitor_api:violation-escalate": {"pk": "violation"},
    "customers:profile": {"customer_id": "customer"},
    "customers_api:customer-detail": {"pk": "customer"},
    "customers_api:customer-timeline": {"pk": "customer"},
    "customers_api:note-create": {"pk": "customer"},
    "customers_api:note-detail": {"pk": "customer", "note_id": "customer_note"},
    "customers_api:follow-up-create": {"pk": "customer"},
    "customers_api:follow-up-detail": {"pk": "customer", "follow_up_id": "follow_up"},
    "customers_api:merge-create": {"pk": "customer"},
    "customers_api:merge-undo": {"pk": "merge"},
    "customers_api:field-detail": {"pk": "customer_field"},
    "buyer_data:customer-data": {"customer_id": "customer"},
    "buyer_data_api:customer-export": {"pk": "customer"},
    "buyer_data_api:customer-erase": {"pk": "customer"},
    "inbox:rule": {"rule_id": "rule"},
    "inbox:rule-edit": {"rule_id": "rule"},
    "inbox:rule-dry-run": {"rule_id": "rule"},
    "inbox:rule-enable": {"rule_id": "rule"},
    "inbox:rule-disable": {"rule_id": "rule"},
    "inbox_api:rule-detail": {"pk": "rule"},
    "inbox_api:rule-dry-run": {"pk": "rule"},
    "inbox_api:rule-enable": {"pk": "rule"},
    "inbox_api:rule-disable": {"pk": "rule"},
    "inbox_api:rule-applications": {"pk": "rule"},
    "inbox_api:compensation-detail": {"pk": "compensation"},
    "inbox_api:case-compensations": {"pk": "case"},
    "monitor:problems-report": {"shop_account_id": "shop"},
    "monitor:problems-export": {"shop_account_id": "shop"},
    "monitor_api:problem": {"pk": "problem"},
    "monitor_api:problem-weekly": {"shop_account_id": "shop"},
}

# Request bodies for write methods, by (route name, method). "@name" is a planted object's id.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("inbox_api:conversation-detail", "patch"): {"status": "resolved", "add_tags": ["x"]},
    ("inbox_api:conversation-messages", "post"): {"text": "hello", "idempotency_key": "k-1"},
    ("inbox_api:note-create", "post"): {"text": "a note"},
    ("inbox_api:conversation-bulk", "post"): {
        "action": "resolve",
        "conversation_ids": ["@conversation"],
    },
    ("inbox_api:membership-list", "post"): {"user_id": "@me", "shop_account_id": "@shop"},
    ("templates_api:quick-reply-detail", "patch"): {"title": "changed"},
    ("templates_api:quick-reply-render", "post"): {"conversation_id": "@conversation"},
    ("templates_api:quick-reply-use", "post"): {"conversation_id": "@conversation"},
    ("inbox_api:case-approve", "post"): {"decision": "APPROVE_REFUND"},
    ("inbox_api:case-reject", "post"): {
        "decision": "REJECT_REFUND",
        "reject_reason": "seller_reject_apply_no_evidence",
    },
    ("monitor_api:screen", "post"): {"text": "hello", "shop_account": "@shop"},
    ("customers_api:customer-detail", "patch"): {"country": "GB", "tags": ["x"]},
    ("customers_api:note-create", "post"): {"text": "a note"},
    ("customers_api:follow-up-create", "post"): {
        "promise": "call back",
        "due_at": "2026-12-01T09:00:00Z",
    },
    ("customers_api:follow-up-detail", "patch"): {"done": True},
    ("customers_api:merge-create", "post"): {"merged_id": "@customer_twin"},
    ("customers_api:field-list", "post"): {"key": "tier", "label": "Tier", "kind": "text"},
    ("customers_api:field-detail", "patch"): {"label": "changed"},
    # Erasure is admins' only: no route test signs in as one, so nothing planted is erased.
    ("buyer_data_api:customer-erase", "post"): {"reason": "routes test", "confirm": "@customer"},
    ("monitor_api:problem", "patch"): {"issue_type": "size", "sku": "ZQX-SKU"},
    ("inbox_api:reveal", "post"): {
        "subject": "customer",
        "id": "@customer",
        "field": "phone",
        "reason": "courier asked",
    },
    ("inbox_api:rule-list", "post"): {"name": "Tag damaged", "reason_codes": ["x"], "tag": "t"},
    ("inbox_api:rule-detail", "put"): {"name": "changed", "reason_codes": ["x"], "tag": "t"},
    ("inbox_api:rule-enable", "post"): {"confirm": True},
    ("inbox_api:compensation-list", "post"): {
        "issue_type": "damaged",
        "kind": "coupon",
        "title": "5 off",
        "cost": "5.00",
        "currency": "USD",
    },
    ("inbox_api:compensation-detail", "patch"): {"is_active": False},
}

# The query that makes a GET route show everything it can (the access test reads it).
QUERIES: dict[str, str] = {
    "inbox_api:event-list": "after=0",
    "inbox_api:conversation-list": "status=all",
    "inbox_api:case-list": "stage=needs_decision",
    "inbox_api:message-search": "q=ZQX7-shop-a1-only",  # the planted marker's words
    "inbox:workspace": "view=all",
    "templates_api:quick-reply-list": "archived=1",
    "templates_api:quick-reply-stats": "days=366",
    "monitor:violations": "status=all",
    "monitor_api:violation-list": "status=all",
}

EXCLUDED: dict[str, str] = {
    "admin/": "Django's admin: staff only, Django's own views and permission checks",
    "i18n/setlang/": "Django's set_language: a POST that only sets the language cookie",
}

# GET parameters the pages read (QueueParams, queue_row's "open", the login page's "next"),
# plus the names any view might read: probed on every page.
PAGE_PARAMS = (
    "page",
    "q",
    "shop",
    "status",
    "view",
    "cursor",
    "tag",
    "open",
    "next",
    "search",
    "kind",
    "sort",
    "due",
    "format",
    "lang",
    "case",
    "focus",
    "arrival",
    "actor",
    "action",
    "shop_account",
    "since",
    "until",
    "before",
    "agent",
    "category",
    "proposed",
    "week",
)
# Probed on every API GET besides what the schema declares (a parameter a view reads without
# declaring it is still driven).
API_EXTRA_PARAMS = ("cursor", "page_size", "q", "search", "format")

_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    pattern: str  # "api/v1/conversations/<int:pk>/"
    name: str  # "inbox_api:conversation-detail" ("" when unnamed)
    path_params: tuple[str, ...]
    is_api: bool
    methods: tuple[str, ...] = ("get",)  # lower case
    query_params: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per method

    @property
    def id(self) -> str:
        return self.name or self.pattern

    @property
    def schema_path(self) -> str:
        """The path as drf-spectacular names it (``pk`` shown as ``id``)."""
        path = _CONVERTER.sub(
            lambda m: "{id}" if m["name"] == "pk" else "{" + m["name"] + "}", self.pattern
        )
        return "/" + path

    def url(self, objects: dict[str, Any]) -> str:
        """The route's URL with its path parameters filled from ``PATH_PARAMS``."""
        fill = PATH_PARAMS.get(self.name, {})

        def value(match: re.Match[str]) -> str:
            source = fill[match["name"]]
            return source[1:] if source.startswith("=") else str(objects[source])

        return "/" + _CONVERTER.sub(value, self.pattern)

    def missing_path_params(self) -> set[str]:
        return set(self.path_params) - set(PATH_PARAMS.get(self.name, {}))


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            found += _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = entry.name or ""
            if name and namespace:
                name = f"{namespace}:{name}"
            found.append((prefix + str(entry.pattern), name))
    return found


@cache
def openapi_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _excluded(pattern: str) -> bool:
    return any(pattern.startswith(prefix) for prefix in EXCLUDED)


@cache
def routes() -> tuple[Route, ...]:
    """Every route of the URLconf but the excluded ones; API routes with their schema's
    methods and query parameters (no methods: the route is missing from the schema)."""
    paths = openapi_schema()["paths"]
    found: list[Route] = []
    for pattern, name in _walk(get_resolver().url_patterns):
        if _excluded(pattern):
            continue
        params = tuple(m["name"] for m in _CONVERTER.finditer(pattern))
        route = Route(pattern=pattern, name=name, path_params=params, is_api=False)
        if pattern.startswith("api/v1/"):
            operations = paths.get(route.schema_path, {})
            query = {
                method: tuple(
                    p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
                )
                for method, operation in operations.items()
            }
            route = Route(
                pattern=pattern,
                name=name,
                path_params=params,
                is_api=True,
                methods=tuple(query),
                query_params=query,
            )
        found.append(route)
    return tuple(found)


def uncovered() -> list[str]:
    """Why each route the tests cannot call is not callable (empty: all are covered)."""
    problems = []
    for route in routes():
        missing = route.missing_path_params()
        if missing:
            problems.append(
                f"{route.id} ({route.pattern}): no object for path parameter(s) "
                f"{sorted(missing)}; add the route to PATH_PARAMS in tests/routes.py"
            )
        if route.is_api and not route.methods:
            problems.append(
                f"{route.id} ({route.pattern}): not in the OpenAPI schema "
                f"(looked for {route.schema_path})"
            )
    return problems


def body_for(route: Route, method: str, objects: dict[str, Any]) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return objects[value[1:]]
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return {k: resolve(v) for k, v in BODIES.get((route.name, method), {}).items()}


@contextmanager
def query_names_read() -> Iterator[set[str]]:
    """The query parameter names read from a request's ``GET`` while the block runs (by name:
    ``[]``, ``get``, ``getlist``, ``in``; ``items()`` and ``dict()`` read every name present
    through ``[]``). ``lists()`` records nothing: the NUL middleware, ``copy()`` and
    ``urlencode()`` walk every parameter without reading one for its meaning; nor do reads of a
    mutable copy."""
    read: set[str] = set()
    # (``__contains__`` is dict's, not MultiValueDict's own: None, removed again at the end.)
    own = {
        name: MultiValueDict.__dict__.get(name)
        for name in ("__getitem__", "getlist", "__contains__")
    }

    def recording(name: str) -> Any:
        original = getattr(MultiValueDict, name)

        def method(self: MultiValueDict, key: Any, *args: Any, **kwargs: Any) -> Any:
            # Not while a QueryDict is being built (mutable then, as copies are).
            if isinstance(self, QueryDict) and not self._mutable and isinstance(key, str):
                read.add(key)
            return original(self, key, *args, **kwargs)

        return method

    for name in own:
        setattr(MultiValueDict, name, recording(name))
    try:
        yield read
    finally:
        for name, original in own.items():
            if original is None:
                delattr(MultiValueDict, name)
            else:
                setattr(MultiValueDict, name, original)
