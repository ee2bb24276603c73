"""Moments of the inbox other apps act on (``scrm.hooks``): the inbox announces them and never
imports the apps that subscribe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from inbox.selectors.accounts import AnyUser
from scrm.hooks import Hook

if TYPE_CHECKING:
    from inbox.models import AfterSalesCase, Conversation, Message
    from inbox.services.conversation_state import StateChange


@dataclass(frozen=True, slots=True)
class ReplySubmitted:
    """An agent's reply was stored for sending (once per reply: a repeated idempotency key
    announces nothing). ``quick_reply_id``: the quick reply the composer inserted into it, as
    the client said (unchecked: a subscriber checks it is one the actor may use)."""

    organisation_id: int
    shop_account_id: int
    conversation_id: int
    message_id: int
    actor: AnyUser
    quick_reply_id: int | None = None
    quick_reply_language: str = ""


# Emitted by ``inbox.services.replies.message_send`` in the reply's transaction; templates_app
# counts the quick reply's use on it.
reply_submitted: Hook[ReplySubmitted] = Hook("reply.submitted")


@dataclass(frozen=True, slots=True)
class CaseStageChanged:
    """An after-sales case was stored in another stage (``before`` None: a new case), or its
    seller deadline moved while it needs a decision. ``case`` is the row as written, locked."""

    case: AfterSalesCase
    before: str | None
    after: str


# Emitted by ``inbox.services.aftersales.after_sales_case_upsert`` in the case's transaction;
# the SLA tracker opens and closes the case's deadlines on it.
case_stage_changed: Hook[CaseStageChanged] = Hook("case.stage_changed")

# Platform sender roles of robot and auto-replies (an answer only where the SLA policy says so).
ROBOT_ROLES = ("ROBOT",)
# The platform's own sender role (notices, rating cards): announced for the metrics only.
PLATFORM_ROLES = ("SYSTEM",)


@dataclass(frozen=True, slots=True)
class MessagesStored:
    """Ingestion stored new visible buyer messages or robot/auto-replies in a conversation.

    ``conversation`` is the row as it will be written (locked; the store writes it once, after
    its subscribers: ``conversation_writes_gathered``), ``change`` what its state transition
    did, ``buyer_times`` and ``robot_times`` the platform times of the new messages, oldest first;
    ``buyer_messages`` the new visible buyer messages themselves, as written (the monitor scans
    them for risk tags); ``platform_messages`` the new visible messages of the platform itself
    (``PLATFORM_ROLES``: notices, the buyer's rating of the chat), which the metrics read.
    """

    conversation: Conversation
    change: StateChange
    buyer_times: tuple[datetime, ...]
    robot_times: tuple[datetime, ...]
    buyer_messages: tuple[Message, ...] = ()
    platform_messages: tuple[Message, ...] = ()


# Emitted by ``inbox.services.ingestion.messages_store`` after the conversation's state moved;
# the SLA tracker closes a wait a robot answered (when its policy says so) on it.
messages_stored: Hook[MessagesStored] = Hook("messages.stored")


@dataclass(frozen=True, slots=True)
class ShopTimeZoneChanged:
    """A shop account's time zone (its business calendar's) changed."""

    organisation_id: int
    shop_account_id: int


# Emitted by ``inbox.services.shop_accounts`` (``shop_account_update``,
# ``shop_account_time_zone_set``) in the shop's transaction; the SLA tracker recomputes the
# shop's open deadlines on it.
shop_time_zone_changed: Hook[ShopTimeZoneChanged] = Hook("shop.time_zone_changed")
