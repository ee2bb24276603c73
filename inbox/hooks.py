"""Moments of the inbox other apps act on (``scrm.hooks``): the inbox announces them and never
imports the apps that subscribe."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.selectors.accounts import AnyUser
from scrm.hooks import Hook


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
