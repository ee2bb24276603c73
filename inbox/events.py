"""The inbox's event kinds: each a named constant with its payload schema (docs/api.md,
"Websocket", documents the same kinds with an example each; tests hold the two equal and check
every example and every published payload against these schemas).

Publish them with ``scrm.events.event_publish`` (or ``inbox.services.events``'s
``conversation_event_publish`` for one conversation's shop). The payloads are built by
``inbox.payloads`` (the same shapes the REST API answers with).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from scrm.events import Audience, EventKind, Viewer, event_kind_register


# --- payload schemas -------------------------------------------------------------------------
class PersonRef(TypedDict):
    """A person of the seller's team: ``name`` is what to display, ``username`` the login."""

    id: int
    username: str
    name: str


class ShopRef(TypedDict):
    id: int
    name: str
    platform: str
    region: str
    time_zone: str


class CustomerRef(TypedDict):
    id: int
    name: str  # personal: the buyer's name


class MessagePayload(TypedDict):
    id: int
    conversation_id: int
    platform_message_id: str | None
    direction: str  # "in" | "out"
    sender_role: str
    type: str
    text: str  # personal: the message's text
    content: Any  # the platform's, unchanged
    image_url: str | None
    sent_at: str | None
    delivery_state: str
    failure_reason: str
    author: PersonRef | None
    idempotency_key: str | None


class DeadlinePayload(TypedDict):
    """A row's open SLA deadline (the earliest, when several are open; docs/sla.md)."""

    kind: str  # first_reply | next_reply | after_sales | same_day
    due_at: str  # ISO 8601, UTC
    due_local: str  # the same instant in the shop's time zone
    time_zone: str  # the shop's
    warn_at: str | None  # where the warning window begins (UTC)
    state: str  # ok | warning | breached, when read


class ConversationPayload(TypedDict):
    """The queue row (``deadline``: null in events, which do not read it: ``sla.deadline``
    carries its changes)."""

    id: int
    platform_conversation_id: str
    shop_account: ShopRef
    customer: CustomerRef
    status: str
    priority: int
    assignee: PersonRef | None
    tags: list[str]
    unread_count: int
    last_message_at: str | None
    last_message_preview: str  # personal: the last message's text
    last_buyer_message_at: str | None
    waiting_since: str | None
    snoozed_until: str | None
    can_send_message: bool
    deadline: DeadlinePayload | None


class NotePayload(TypedDict):
    id: int
    conversation_id: int
    text: str  # the team's words, which may quote the buyer: treated as personal
    author: PersonRef | None
    created_at: str | None


class CasePayload(TypedDict):
    """An after-sales case's queue facts (no buyer words: the reason, lines and evidence are
    read through ``GET /api/v1/after-sales/{id}/``; ``deadline`` null in events)."""

    id: int
    shop_account_id: int
    family: str  # return | cancellation
    kind: str  # refund | return_and_refund | replacement | exchange | cancellation
    stage: str  # needs_decision | waiting | decided | closed
    platform_status: str
    seller_deadline: str | None
    arbitration_status: str
    conversation_id: int | None
    customer_id: int | None
    decision_state: str  # "" | pending | sending | sent | failed (the latest decision's)
    decision_failure_reason: str
    updated_at: str | None
    deadline: DeadlinePayload | None


# --- shaping ---------------------------------------------------------------------------------
def buyer_fields_for(data: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The payload's personal fields (buyer name, message text, preview) as ``viewer`` may see
    them. Today every person who receives an inbox event works on its shop and sees them as
    stored; masking them for agents (until revealed, audited) is the data-protection issue's,
    and goes here, for the socket and the change feed at once."""
    return data  # type: ignore[return-value]  # unchanged today; never mutated


# --- examples (docs/api.md shows the same; a test holds them equal) --------------------------
MESSAGE_EXAMPLE: MessagePayload = {
    "id": 981,
    "conversation_id": 42,
    "platform_message_id": "7531867211934203911",
    "direction": "in",
    "sender_role": "BUYER",
    "type": "TEXT",
    "text": "Is size M true to size?",
    "content": {"content": "Is size M true to size?"},
    "image_url": None,
    "sent_at": "2026-11-26T23:53:48+00:00",
    "delivery_state": "received",
    "failure_reason": "",
    "author": None,
    "idempotency_key": None,
}
REPLY_EXAMPLE: MessagePayload = {
    "id": 982,
    "conversation_id": 42,
    "platform_message_id": "7531867211934203915",
    "direction": "out",
    "sender_role": "CUSTOMER_SERVICE",
    "type": "TEXT",
    "text": "Yes, it fits true to size.",
    "content": {"content": "Yes, it fits true to size."},
    "image_url": None,
    "sent_at": "2026-11-26T23:55:02+00:00",
    "delivery_state": "sent",
    "failure_reason": "",
    "author": {"id": 5, "username": "li.na", "name": "Li Na"},
    "idempotency_key": "b8e0c2d4-2f7e-4a53-9f6e-1d2a3c4b5e6f",
}
CONVERSATION_EXAMPLE: ConversationPayload = {
    "id": 42,
    "platform_conversation_id": "7531867211934203904",
    "shop_account": {
        "id": 2,
        "name": "Sunny Home UK",
        "platform": "tiktok_shop",
        "region": "GB",
        "time_zone": "Europe/London",
    },
    "customer": {"id": 17, "name": "Emily R."},
    "status": "open",
    "priority": 1,
    "assignee": {"id": 5, "username": "li.na", "name": "Li Na"},
    "tags": ["refund"],
    "unread_count": 2,
    "last_message_at": "2026-11-26T23:53:48+00:00",
    "last_message_preview": "Hi, my parcel arrived damaged",
    "last_buyer_message_at": "2026-11-26T23:53:48+00:00",
    "waiting_since": "2026-11-26T23:50:02+00:00",
    "snoozed_until": None,
    "can_send_message": True,
    "deadline": None,
}
NOTE_EXAMPLE: NotePayload = {
    "id": 7,
    "conversation_id": 42,
    "text": "VIP buyer, refund approved",
    "author": {"id": 5, "username": "li.na", "name": "Li Na"},
    "created_at": "2026-11-27T00:02:11+00:00",
}

CASE_EXAMPLE: CasePayload = {
    "id": 311,
    "shop_account_id": 2,
    "family": "return",
    "kind": "return_and_refund",
    "stage": "needs_decision",
    "platform_status": "RETURN_OR_REFUND_REQUEST_PENDING",
    "seller_deadline": "2026-11-28T23:53:48+00:00",
    "arbitration_status": "",
    "conversation_id": 42,
    "customer_id": 17,
    "decision_state": "failed",
    "decision_failure_reason": "The return cannot be approved in its status. (code 40009)",
    "updated_at": "2026-11-27T00:05:10+00:00",
    "deadline": None,
}


# --- the kinds -------------------------------------------------------------------------------
def _shop_kind(name: str, description: str, schema: type, example: Mapping[str, Any]) -> EventKind:
    """An inbox kind: for the people of one shop, carrying personal fields (so shaped)."""
    return event_kind_register(
        name=name,
        description=description,
        schema=schema,
        example=example,
        audience=Audience.SHOP,
        shaper=buyer_fields_for,
    )


MESSAGE_CREATED = _shop_kind(
    "message.created",
    "a message (buyer message arrived, or your reply stored as `pending`)",
    MessagePayload,
    MESSAGE_EXAMPLE,
)
MESSAGE_UPDATED = _shop_kind(
    "message.updated", "a message whose `delivery_state` changed", MessagePayload, REPLY_EXAMPLE
)
CONVERSATION_UPDATED = _shop_kind(
    "conversation.updated",
    "a queue row (new message, assignment, status, tags, read)",
    ConversationPayload,
    CONVERSATION_EXAMPLE,
)
NOTE_CREATED = _shop_kind("note.created", "a note", NotePayload, NOTE_EXAMPLE)
CASE_UPDATED = _shop_kind(
    "case.updated",
    "an after-sales case changed (read from the platform, or its decision's state)",
    CasePayload,
    CASE_EXAMPLE,
)


# --- follow_up.due ---------------------------------------------------------------------------
class FollowUpDuePayload(TypedDict):
    """A follow-up of yours came due (the reminder, once): ids, times, and a line without any
    buyer data (docs/customers.md)."""

    id: int  # the follow-up's
    customer_id: int
    shop_account_id: int | None
    due_at: str
    text: str  # "Follow-up due: customer #17, shop Sunny Home UK", in your language
    url: str  # the customer's profile page


FOLLOW_UP_DUE_EXAMPLE: FollowUpDuePayload = {
    "id": 31,
    "customer_id": 17,
    "shop_account_id": 2,
    "due_at": "2026-11-28T09:00:00+00:00",
    "text": "Follow-up due: customer #17, shop Sunny Home UK",
    "url": "/customers/17/",
}

FOLLOW_UP_DUE = event_kind_register(
    name="follow_up.due",
    description="a follow-up record of yours came due (its reminder, once)",
    schema=FollowUpDuePayload,
    example=FOLLOW_UP_DUE_EXAMPLE,
    audience=Audience.USER,
)
