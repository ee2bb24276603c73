"""The inbox's outbox kinds that talk to a shop's platform, and their shared base.

A kind whose subject has services of its own keeps its handler there (``replies.
ReplyDelivery``); the ones here have none: marking a conversation read on the platform (the
local read state is ``conversations.conversation_mark_read``'s, which changes it at once and
asks for this action).
"""

from __future__ import annotations

import logging
from typing import Any

from inbox.models import Conversation, OutboxAction, ShopAccount
from inbox.platforms.base import AuthExpired, PlatformError, ShopApi
from inbox.selectors.accounts import shop_connected
from inbox.services.ingestion import shop_api
from inbox.services.outbox import (
    Handler,
    outbox_enqueue,
    outbox_handler_register,
    required_id,
)
from monitoring.audit import audit_record
from scrm.api import ServiceError

logger = logging.getLogger(__name__)

MARK_READ = "mark_read"


class ShopDisconnected(PlatformError):
    """An admin disconnected the shop account: nothing more is done on its platform (not
    retried; the agent may retry a reply after the shop is connected again)."""


class ShopHandler(Handler):
    """A call on the platform of the action's shop account."""

    def shop_api(self, action: OutboxAction, shop: ShopAccount | None = None) -> ShopApi:
        """The shop's platform connection; a shop without usable credentials is AuthExpired and
        a disconnected one ShopDisconnected, each failing the action at once with a reason the
        agent can act on. ``shop``: the action's shop account read just now with its subject
        (else it is read here)."""
        shop_id = required_id(action.shop_account_id, "shop account")
        if shop is None or shop.pk != shop_id:
            shop = ShopAccount.objects.get(id=shop_id)
        if not shop.is_active:
            raise ShopDisconnected("shop account disconnected")
        return shop_api(shop)

    def reason(self, error: Exception) -> str:
        if isinstance(error, ShopDisconnected):
            return "The shop account was disconnected: connect it again, then retry."
        if isinstance(error, AuthExpired):
            return "The shop's authorisation expired: re-authorise it in settings."
        code = f" (code {error.code})" if isinstance(error, PlatformError) and error.code else ""
        return f"{error}{code}"[:300]


class MarkReadOnPlatform(ShopHandler):
    """Tell the platform the buyer's messages were read (TikTok's Read Message). Doing it twice
    changes nothing, so a retry needs no look at the platform first."""

    kind = MARK_READ
    idempotent = True
    stale_reason = "Not marked read on the platform within a day."

    def prepare(self, action: OutboxAction) -> tuple[ShopApi, str]:
        conversation_id = Conversation.objects.values_list(
            "platform_conversation_id", flat=True
        ).get(id=required_id(action.conversation_id, "conversation"))
        return self.shop_api(action), conversation_id

    def perform(self, action: OutboxAction, prepared: Any) -> str:
        api, conversation_id = prepared
        api.mark_read(conversation_id)
        return ""

    def on_failed(self, action: OutboxAction, *, reason: str) -> None:
        # Nobody waits on this one: it is recorded, not shown (the inbox already reads "read").
        logger.warning("mark_read action %s failed", action.id)
        audit_record(
            organisation_id=action.organisation_id,
            actor=None,
            action="conversation.read_not_synced",
            target=action,
            data={"conversation_id": action.conversation_id},
        )


def mark_read_enqueue(*, conversation: Conversation) -> OutboxAction | None:
    """Ask for the platform to mark the conversation read (inside the caller's transaction).

    Keeps: requests made while one is still waiting share it; a shop never connected to its
    platform is a 409 ``shop_not_authorised`` (nothing to call it with, ever); a disconnected
    shop gets no action (its conversations are read locally only), so ``None``.
    """
    if not conversation.shop_account.is_active:
        return None
    if not shop_connected(conversation.shop_account):
        raise ServiceError(
            "The seller must authorise this shop account again.",
            code="shop_not_authorised",
            status_code=409,
        )
    return outbox_enqueue(
        kind=MARK_READ,
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
        conversation_id=conversation.id,
        coalesce_key=f"conversation:{conversation.id}",
    )


def register_kinds() -> None:
    """The inbox's kinds (called from ``InboxConfig.ready()``)."""
    from inbox.services.aftersales_decisions import DecisionDelivery
    from inbox.services.replies import ReplyDelivery

    outbox_handler_register(ReplyDelivery())
    outbox_handler_register(MarkReadOnPlatform())
    outbox_handler_register(DecisionDelivery())
