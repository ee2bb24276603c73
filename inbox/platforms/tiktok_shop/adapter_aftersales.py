"""TikTok Shop returns and cancellations: searches and the seller's decisions
(docs/platforms/tiktok-shop.md §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbox.platforms.base import (
    AfterSalesLine,
    DecisionRequest,
    EvidenceMedia,
    Page,
    PlatformAfterSales,
    RejectReason,
    ReturnRecord,
    is_platform_id,
    platform_id,
)
from inbox.platforms.tiktok_shop.adapter_common import (
    as_int,
    clamp,
    dicts,
    next_page_token,
    path_id,
    utc_from_unix,
    warn_skipped,
)
from inbox.platforms.tiktok_shop.client import TikTokShopClient

RETURNS_SEARCH_PATH = "/return_refund/202602/returns/search"
CANCELLATIONS_SEARCH_PATH = "/return_refund/202602/cancellations/search"
MAX_SEARCH_PAGE = 50  # returns and cancellations: 10-50 (returns), 1-50 (cancellations)
MIN_RETURNS_PAGE = 10
# Deciding: approve at 202309, reject at 202606 (reject_reason required), cancellations 202309.
RR = "/return_refund/202309"
APPROVE_RETURN_PATH = RR + "/returns/{id}/approve"
REJECT_RETURN_PATH = "/return_refund/202606/returns/{id}/reject"
CANCELLATION_PATH = RR + "/cancellations/{id}/{verb}"
REJECT_REASONS_PATH = RR + "/reject_reasons"
RETURN_RECORDS_PATH = RR + "/returns/{id}/records"
# Our names for the seller's answers to a cancellation (the platform's calls take none).
APPROVE_CANCELLATION = "APPROVE_CANCELLATION"
REJECT_CANCELLATION = "REJECT_CANCELLATION"
# Decisions that offer a partial refund, and the body key and amount key each takes.
PARTIAL_REFUND_FIELDS = {
    "OFFER_PARTIAL_REFUND": ("partial_refund", "amount"),
    "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG": ("partial_refund_amount", "partial_refund_total"),
}


class AfterSalesCalls:
    """The after-sales half of ``base.ShopApi``."""

    client: TikTokShopClient

    def search_returns(
        self,
        *,
        return_ids: Sequence[str] = (),
        update_time_ge: int | None = None,
        page_token: str = "",
        page_size: int = MAX_SEARCH_PAGE,
    ) -> Page[PlatformAfterSales]:
        data = self._search(
            RETURNS_SEARCH_PATH,
            ids=("return_ids", return_ids),
            update_time_ge=update_time_ge,
            page_token=page_token,
            page_size=max(MIN_RETURNS_PAGE, clamp(page_size, MAX_SEARCH_PAGE)),
        )
        items = [return_from(r) for r in dicts(data.get("return_orders"))]
        return _valid_cases(items, "returns", data)

    def search_cancellations(
        self,
        *,
        cancel_ids: Sequence[str] = (),
        update_time_ge: int | None = None,
        page_token: str = "",
        page_size: int = MAX_SEARCH_PAGE,
    ) -> Page[PlatformAfterSales]:
        data = self._search(
            CANCELLATIONS_SEARCH_PATH,
            ids=("cancel_ids", cancel_ids),
            update_time_ge=update_time_ge,
            page_token=page_token,
            page_size=clamp(page_size, MAX_SEARCH_PAGE),
        )
        items = [cancellation_from(c) for c in dicts(data.get("cancellations"))]
        return _valid_cases(items, "cancellations", data)

    def decide(self, request: DecisionRequest) -> None:
        """Approve or reject with the platform's idempotency key: a repeat of the key answers
        success without a second decision, so the call may be retried."""
        case_id = path_id(request.case_id, "case_id")
        params = {"idempotency_key": request.idempotency_key}
        if request.family == "cancellation":
            path = CANCELLATION_PATH.format(id=case_id, verb=request.verb)
        elif request.verb == "approve":
            path = APPROVE_RETURN_PATH.format(id=case_id)
        else:
            path = REJECT_RETURN_PATH.format(id=case_id)
        self.client.call("POST", path, params=params, body=decision_body(request), idempotent=True)

    def reject_reasons(self, case_id: str, *, locale: str = "") -> list[RejectReason]:
        params = {"return_or_cancel_id": platform_id(case_id, "return_or_cancel_id")}
        if locale:
            params["locale"] = locale
        data = self.client.call("GET", REJECT_REASONS_PATH, params=params)
        return [
            RejectReason(name=str(r.get("name") or ""), text=str(r.get("text") or ""))
            for r in dicts(data.get("reasons"))
            if r.get("name")
        ]

    def return_records(self, return_id: str) -> list[ReturnRecord]:
        data = self.client.call(
            "GET", RETURN_RECORDS_PATH.format(id=path_id(return_id, "return_id"))
        )
        return [record_from(r) for r in dicts(data.get("records"))]

    def _search(
        self,
        path: str,
        *,
        ids: tuple[str, Sequence[str]],
        update_time_ge: int | None,
        page_token: str,
        page_size: int,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if ids[1]:
            body[ids[0]] = [platform_id(i, ids[0]) for i in ids[1]]
        if update_time_ge is not None:
            body["update_time_ge"] = int(update_time_ge)
        return self.client.call(
            "POST",
            path,
            params={
                "page_size": page_size,
                "page_token": page_token,
                "sort_field": "update_time",
                "sort_order": "ASC",
            },
            body=body,
            idempotent=True,  # a search changes nothing
        )


# --- conversions -----------------------------------------------------------------------------
def decision_body(request: DecisionRequest) -> dict[str, Any]:
    """The JSON body of a decision call (docs/platforms/tiktok-shop.md §4)."""
    body: dict[str, Any] = {}
    if request.family != "cancellation":
        body["decision"] = request.decision
    if request.verb == "reject":
        body["reject_reason"] = request.reject_reason
        if request.comment:
            body["comment"] = request.comment
        if request.images:
            body["images"] = [dict(image) for image in request.images]
    partial = PARTIAL_REFUND_FIELDS.get(request.decision)
    if partial is not None and request.partial_refund_amount:
        key, amount_key = partial
        body[key] = {amount_key: request.partial_refund_amount, "currency": request.currency}
    return body


def _media(raw: Any, kind: str) -> tuple[EvidenceMedia, ...]:
    media = []
    for item in dicts(raw):
        url = str(item.get("url") or "")
        if not url:
            continue
        thumb = url if kind == "image" else str(item.get("cover") or "")
        media.append(
            EvidenceMedia(
                kind=kind,
                url=url,
                thumb_url=thumb,
                width=as_int(item.get("width")),
                height=as_int(item.get("height")),
            )
        )
    return tuple(media)


def record_from(raw: Mapping[str, Any]) -> ReturnRecord:
    """A return record without its words (``description``, ``reason_text``, ``note``)."""
    return ReturnRecord(
        event=str(raw.get("event") or ""),
        role=str(raw.get("role") or ""),
        create_time=utc_from_unix(raw.get("create_time")),
        media=_media(raw.get("images"), "image") + _media(raw.get("videos"), "video"),
    )


def _money(value: Any) -> tuple[str, str]:
    """(total, currency) of a RefundAmount."""
    money = value if isinstance(value, dict) else {}
    return str(money.get("refund_total") or "0"), str(money.get("currency") or "")


def _lines(raw: Any, id_key: str) -> tuple[AfterSalesLine, ...]:
    lines = []
    for line in dicts(raw):
        total, currency = _money(line.get("refund_amount"))
        image = line.get("product_image")
        lines.append(
            AfterSalesLine(
                line_item_id=str(line.get(id_key) or ""),
                order_line_item_id=str(line.get("order_line_item_id") or ""),
                sku_id=str(line.get("sku_id") or ""),
                sku_name=str(line.get("sku_name") or ""),
                product_name=str(line.get("product_name") or ""),
                seller_sku=str(line.get("seller_sku") or ""),
                image_url=str(image.get("url") or "") if isinstance(image, dict) else "",
                refund_total=total,
                currency=currency,
            )
        )
    return tuple(lines)


def _next_action(raw: Any) -> tuple[str, datetime | None]:
    """The seller's first pending action and its deadline (the earliest one named)."""
    actions = [a for a in dicts(raw) if as_int(a.get("deadline"))]
    if not actions:
        return "", None
    first = min(actions, key=lambda a: as_int(a.get("deadline")))
    return str(first.get("action") or ""), utc_from_unix(first.get("deadline"))


def return_from(raw: Mapping[str, Any]) -> PlatformAfterSales:
    total, currency = _money(raw.get("refund_amount"))
    action, deadline = _next_action(raw.get("seller_next_action_response"))
    extra = {
        key: raw[key]
        for key in (
            "is_quick_refund",
            "partial_refund",
            "seller_proposed_return_type",
            "can_buyer_keep_item",
            "return_method",
        )
        if key in raw
    }
    return PlatformAfterSales(
        family="return",
        case_id=str(raw.get("return_id") or ""),
        order_id=str(raw.get("order_id") or ""),
        type=str(raw.get("return_type") or ""),
        status=str(raw.get("return_status") or ""),
        role=str(raw.get("role") or ""),
        reason=str(raw.get("return_reason") or ""),
        reason_text=str(raw.get("return_reason_text") or ""),
        refund_total=total,
        currency=currency,
        lines=_lines(raw.get("return_line_items"), "return_line_item_id"),
        seller_deadline=deadline,
        seller_action=action,
        arbitration_status=str(raw.get("arbitration_status") or ""),
        create_time=utc_from_unix(raw.get("create_time")),
        update_time=utc_from_unix(raw.get("update_time")),
        extra=extra,
    )


def cancellation_from(raw: Mapping[str, Any]) -> PlatformAfterSales:
    total, currency = _money(raw.get("refund_amount"))
    action, deadline = _next_action(raw.get("seller_next_action_response"))
    return PlatformAfterSales(
        family="cancellation",
        case_id=str(raw.get("cancel_id") or ""),
        order_id=str(raw.get("order_id") or ""),
        type=str(raw.get("cancel_type") or ""),
        status=str(raw.get("cancel_status") or ""),
        role=str(raw.get("role") or ""),
        reason=str(raw.get("cancel_reason") or ""),
        reason_text=str(raw.get("cancel_reason_text") or ""),
        refund_total=total,
        currency=currency,
        lines=_lines(raw.get("cancel_line_items"), "cancel_line_item_id"),
        seller_deadline=deadline,
        seller_action=action,
        arbitration_status="",
        create_time=utc_from_unix(raw.get("create_time")),
        update_time=utc_from_unix(raw.get("update_time")),
        extra={"should_replenish_stock": raw["should_replenish_stock"]}
        if "should_replenish_stock" in raw
        else {},
    )


def _valid_cases(
    items: list[PlatformAfterSales], what: str, data: Mapping[str, Any]
) -> Page[PlatformAfterSales]:
    valid = [c for c in items if is_platform_id(c.case_id)]
    warn_skipped(what, len(items) - len(valid))
    return Page(items=valid, next_page_token=next_page_token(data))
