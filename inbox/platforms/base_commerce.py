"""After-sales and order dataclasses of the platform interface (``base.py`` re-exports them):
what a platform shows of returns, cancellations and orders, and what the seller sends back.

No Django, no I/O; personal fields (the buyer's words, the recipient) never print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AfterSalesLine:
    """One line of a return or cancellation: what the buyer sends back or is refunded for."""

    line_item_id: str
    order_line_item_id: str
    sku_id: str
    sku_name: str
    product_name: str
    seller_sku: str
    image_url: str
    refund_total: str  # a decimal string, in the case's currency
    currency: str


@dataclass(frozen=True)
class PlatformAfterSales:
    """A return (refund only, return and refund, replacement, exchange) or a cancellation as
    the platform shows it now. ``family`` is ``return`` or ``cancellation``: a platform id is
    unique within its family only."""

    family: str  # return | cancellation
    case_id: str
    order_id: str
    type: str  # REFUND | RETURN_AND_REFUND | REPLACEMENT | EXCHANGE | CANCEL | BUYER_CANCEL
    status: str
    role: str  # who asked: BUYER | SELLER | SYSTEM | OPERATOR
    reason: str  # the platform's reason code
    reason_text: str  # the buyer's words: personal data, never logged
    refund_total: str
    currency: str
    lines: tuple[AfterSalesLine, ...]
    seller_deadline: datetime | None  # the first seller action's deadline, if the platform asks
    seller_action: str  # that action's name ("" when none)
    arbitration_status: str
    create_time: datetime
    update_time: datetime
    extra: dict[str, Any] = field(default_factory=dict)  # partial refund, quick refund, ...

    def __repr__(self) -> str:  # never print the buyer's words
        return f"PlatformAfterSales({self.family} {self.case_id} {self.status})"


@dataclass(frozen=True)
class PlatformOrderLine:
    line_item_id: str
    sku_id: str
    product_id: str
    product_name: str
    sku_name: str
    sale_price: str
    currency: str
    seller_sku: str = ""
    image_url: str = ""


@dataclass(frozen=True)
class PlatformRecipient:
    """Who the order ships to: personal data, never logged (``repr`` names no field), stored
    encrypted. ``city`` and ``region`` are the coarse places agents may see masked."""

    name: str
    phone: str
    full_address: str
    email: str
    city: str
    region: str  # the state or province
    region_code: str  # the country, e.g. US
    postal_code: str

    def __repr__(self) -> str:
        return "PlatformRecipient(<personal data>)"


@dataclass(frozen=True)
class PlatformOrder:
    """An order as Get Order Detail shows it. ``recipient`` (name, phone, address, e-mail) is
    personal data, never logged; the rest is not, but for the buyer's platform user id."""

    order_id: str
    status: str
    buyer_user_id: str
    currency: str
    total_amount: str
    lines: tuple[PlatformOrderLine, ...]
    create_time: datetime
    update_time: datetime
    recipient: PlatformRecipient | None = None

    def __repr__(self) -> str:  # never print the recipient
        return f"PlatformOrder({self.order_id} {self.status})"


# --- deciding --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionRequest:
    """The seller's answer to a return or a cancellation.

    ``decision`` is the platform's name (``APPROVE_REFUND``, ``REJECT_RETURN``, ...; for a
    cancellation ``APPROVE_CANCELLATION`` or ``REJECT_CANCELLATION``, ours: the platform's
    cancellation calls take none). ``idempotency_key`` makes a repeat of the same decision a
    no-op on the platform. ``comment`` may name the buyer: never printed.
    """

    family: str  # return | cancellation
    case_id: str
    verb: str  # approve | reject
    decision: str
    idempotency_key: str
    reject_reason: str = ""
    comment: str = ""
    images: tuple[dict[str, Any], ...] = ()  # [{"image_id": ...}] as the platform takes them
    partial_refund_amount: str = ""  # a decimal string, "" for none
    currency: str = ""

    def __repr__(self) -> str:  # never print the comment
        return f"DecisionRequest({self.family} {self.case_id} {self.decision})"


@dataclass(frozen=True)
class RejectReason:
    name: str  # the platform's reason name, sent back with a reject
    text: str  # its wording, in the locale asked for


@dataclass(frozen=True)
class EvidenceMedia:
    """An image or a video the buyer attached to a return."""

    kind: str  # image | video
    url: str
    thumb_url: str  # the image itself, or the video's cover
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class ReturnRecord:
    """One entry of a return's history (Get Return Records), without its words (the reason
    and note may quote the buyer; they are not read)."""

    event: str
    role: str  # BUYER | SELLER | SYSTEM | ...
    create_time: datetime
    media: tuple[EvidenceMedia, ...] = ()
