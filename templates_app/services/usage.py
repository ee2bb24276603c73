"""Counting the use of quick replies: when a reply made with one is sent (the inbox's
``reply_submitted`` hook), and through the API's ``use`` for clients with no reply to name."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from inbox.hooks import ReplySubmitted
from inbox.selectors import AnyUser
from inbox.selectors.for_apps import ActingMember, acting_member, conversation_ref
from monitoring.audit_log.address import request_address
from monitoring.services import audit_record
from templates_app import selectors
from templates_app.models import QuickReply, QuickReplyUsage


def _record_use(
    member: ActingMember,
    actor: AnyUser,
    quick_reply: QuickReply,
    conversation_id: int,
    language: str,
    message_id: int | None = None,
) -> QuickReplyUsage:
    usage = QuickReplyUsage.objects.create(
        organisation_id=member.organisation_id,
        quick_reply=quick_reply,
        user_id=member.user_id,
        conversation_id=conversation_id,
        language=language,
    )
    QuickReply.objects.filter(id=quick_reply.id).update(usage_count=F("usage_count") + 1)
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="quick_reply.used",
        ip=request_address(),
        target=quick_reply,
        data={
            "id": quick_reply.id,
            "conversation_id": conversation_id,
            "language": language,
            **({"message_id": message_id} if message_id is not None else {}),
        },
    )
    return usage


@transaction.atomic
def quick_reply_use(
    *, actor: AnyUser, quick_reply_id: int, conversation_id: int, language: str = ""
) -> QuickReplyUsage:
    """Count one use of a visible quick reply in a visible conversation."""
    member = acting_member(actor)
    quick_reply = selectors.quick_reply_get(actor, quick_reply_id)
    conversation = conversation_ref(actor, conversation_id)
    return _record_use(member, actor, quick_reply, conversation.id, language[:16])


def quick_reply_count_sent(moment: ReplySubmitted) -> None:
    """Count the use of the quick reply a sent reply was made with (subscribed to the inbox's
    ``reply_submitted``, in the reply's transaction): once per stored reply, never when the
    agent only inserted it.

    Keeps: only a quick reply the sender may see (archived ones too: it may have been archived
    while they typed) is counted; any other id is ignored, never refusing the reply.
    """
    if moment.quick_reply_id is None:
        return
    member = acting_member(moment.actor)
    quick_reply = selectors.quick_reply_visible(member, moment.quick_reply_id)
    if quick_reply is not None:
        language = moment.quick_reply_language[:16]
        _record_use(
            member, moment.actor, quick_reply, moment.conversation_id, language, moment.message_id
        )


def quick_reply_render_for_send(
    *,
    actor: AnyUser,
    quick_reply_id: int,
    conversation_id: int,
    language: str | None = None,
    values: dict[str, str] | None = None,
) -> selectors.RenderResult:
    """Render for sending and count the use (only when the render succeeded).

    The render (a read, which may sync the in-memory library: up to half a second on a
    process's first call) runs before the write's transaction, so SQLite's write lock is held
    only for the counting."""
    member = acting_member(actor)
    quick_reply, conversation, result = selectors.quick_reply_render(
        actor,
        quick_reply_id=quick_reply_id,
        conversation_id=conversation_id,
        language=language,
        values=values,
    )
    with transaction.atomic():
        _record_use(member, actor, quick_reply, conversation.id, result.language)
    return result
