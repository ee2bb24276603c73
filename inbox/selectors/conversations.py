"""The unified queue: conversations and messages an agent may see (the change feed: events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from inbox.models import Conversation, ConversationTag, Message, Note, Tag
from inbox.selectors.accounts import AnyUser, member_for, shop_account_ids_for
from scrm.api import NotFound
from scrm.compiled import padded, read_compiled

OPEN_STATUSES = ("open", "pending")

# Orderings on never-null columns, so DRF's cursor pagination can position on the first one.
SORTS: dict[str, tuple[str, ...]] = {
    "waiting": ("queue_key", "id"),  # longest waiting first, answered ones last
    "newest": ("-last_message_at", "-id"),
    "priority": ("-priority", "queue_key", "id"),
    "due": ("sla_due_at", "id"),  # the SLA deadline, rows without an open one last
}


@dataclass(frozen=True)
class QueueFilters:
    shop_account_ids: tuple[int, ...] = ()
    platform: str = ""
    statuses: tuple[str, ...] = OPEN_STATUSES
    assignee: str = "anyone"  # me | unassigned | anyone | <user id>
    tag: str = ""
    waiting_longer_than: timedelta | None = None
    search: str = ""
    sort: str = "waiting"
    # Only rows whose open SLA deadline falls before this time ("due today": the end of the
    # viewer's day); rows without an open deadline are left out.
    due_before: datetime | None = None


def _visible(user: AnyUser) -> QuerySet[Conversation]:
    return Conversation.objects.filter(shop_account_id__in=shop_account_ids_for(user))


def tag_id_for(user: AnyUser, name: str) -> int | None:
    """The id of the user's organisation's tag ``name`` (None: no such tag), remembered on the
    user object for the request (the one queue asks for conversations and cases)."""
    known: dict[str, int | None] = user.__dict__.setdefault("_scrm_tag_ids", {})
    if name not in known:
        known[name] = (
            Tag.objects.filter(organisation_id=member_for(user).organisation_id, name=name)
            .values_list("id", flat=True)
            .first()
        )
    return known[name]


def tagged_q(user: AnyUser, name: str, conversation: str) -> Q:
    """Rows whose conversation (the column ``conversation``: ``"pk"`` for a conversation,
    ``"conversation_id"`` for a case) carries the user's organisation's tag ``name``.

    The tag's id is read first and the rows tested with ``EXISTS`` on the tag links: the
    database then walks the queue's index in order and stops after a page, where a join on
    the tag's name made it read every conversation ever tagged so and sort them (60 ms for a
    tag on 2 % of 1M conversations, 5 ms this way)."""
    tag_id = tag_id_for(user, name)
    if tag_id is None:
        return Q(pk__in=[])
    return tag_id_q(tag_id, conversation)


def tag_id_q(tag_id: int, conversation: str) -> Q:
    """``tagged_q`` once the tag's id is known."""
    links = ConversationTag.objects.filter(conversation_id=OuterRef(conversation), tag_id=tag_id)
    return Q(Exists(links))


def conversation_list(user: AnyUser, filters: QueueFilters) -> QuerySet[Conversation]:
    """Conversations of every shop the user works on, filtered and sorted for the queue.

    Keeps: only shops the user may see (agents: member shops), whatever filter is asked.
    """
    allowed = shop_account_ids_for(user)
    shops = (
        [s for s in filters.shop_account_ids if s in allowed]
        if filters.shop_account_ids
        else allowed
    )
    return conversations_of_shops(user, filters, shops)


def conversations_of_shops(
    user: AnyUser, filters: QueueFilters, shops: list[int]
) -> QuerySet[Conversation]:
    """``conversation_list`` once the shops are known: ``shops`` must already be the user's
    (the one queue, which has checked them, calls this to ask for them once)."""
    qs = conversations_filtered(
        filters,
        shops,
        user_id=int(user.pk or 0),
        tag_q=tagged_q(user, filters.tag, "pk") if filters.tag else None,
    )
    if filters.waiting_longer_than is not None:
        qs = qs.filter(waiting_since__lte=timezone.now() - filters.waiting_longer_than)
    if filters.due_before is not None:
        qs = qs.filter(sla_due_at__lt=filters.due_before)
    if filters.search:
        from inbox.selectors.search import conversation_search_q

        qs = qs.filter(
            conversation_search_q(
                organisation_id=member_for(user).organisation_id, shops=shops, term=filters.search
            )
        )
    return qs


def conversations_filtered(
    filters: QueueFilters, shops: list[int], *, user_id: int, tag_q: Q | None
) -> QuerySet[Conversation]:
    """The queue's conversations of ``shops`` (the user's, checked) by status, platform,
    assignee (``user_id``: the person's own for "me") and tag (``tag_q``), in the sort's order;
    the filters of a moment (waiting, due, search) are ``conversations_of_shops``'."""
    qs = Conversation.objects.filter(shop_account_id__in=shops)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.platform:
        qs = qs.filter(shop_account__platform=filters.platform)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user_id)
    elif filters.assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isascii() and filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if tag_q is not None:
        qs = qs.filter(tag_q)
    return (
        qs.select_related("shop_account", "customer", "assignee__member")
        .defer("shop_account__credentials")  # never decrypt credentials to list conversations
        .prefetch_related("tags")
        .order_by(*SORTS.get(filters.sort, SORTS["waiting"]))
    )


def _tag_names_query(conversation_ids: list[int]) -> QuerySet[Any]:
    return ConversationTag.objects.filter(conversation_id__in=conversation_ids).values_list(
        "conversation_id", "tag__name"
    )


def tag_names_of(conversation_ids: list[int]) -> dict[int, list[str]]:
    """The tag names of each given conversation, in one query of two columns (a prefetch
    builds a model instance and a related manager per row: most of a page's reading time),
    compiled once (``read_compiled``)."""
    out: dict[int, list[str]] = {}
    rows = read_compiled("tag_names_of", _tag_names_query, padded(conversation_ids))
    for conversation_id, name in rows:
        out.setdefault(conversation_id, []).append(name)
    return out


def conversation_get(user: AnyUser, conversation_id: int) -> Conversation:
    """One conversation the user may see, or NotFound (never a hint that it exists)."""
    try:
        return (
            _visible(user)
            .select_related("shop_account", "customer", "assignee__member")
            .defer("shop_account__credentials")
            .prefetch_related(
                "tags", Prefetch("notes", queryset=Note.objects.select_related("author__member"))
            )
            .get(id=conversation_id)
        )
    except Conversation.DoesNotExist:
        raise NotFound("Conversation not found.") from None


def conversation_for_action(user: AnyUser, conversation_id: int) -> Conversation:
    """One conversation the user may see, with its shop account (credentials deferred): what a
    service acting on it needs (a reply). NotFound as ``conversation_get``, without the
    customer, tags and notes the conversation's page shows (its tags and notes are two reads)."""
    try:
        return (
            _visible(user)
            .select_related("shop_account")
            .defer("shop_account__credentials")
            .get(id=conversation_id)
        )
    except Conversation.DoesNotExist:
        raise NotFound("Conversation not found.") from None


def message_as_stored(message_id: int) -> Message:
    """A message a service just returned, as stored now (an eager delivery may have sent it
    meanwhile), with its author and their member: its payload reads nothing more. Access is
    the service's (it returned the message to this user)."""
    return Message.objects.select_related("author__member").get(id=message_id)


def conversation_messages(user: AnyUser, conversation_id: int) -> QuerySet[Message]:
    """Messages of one visible conversation in timeline order (visible ones only)."""
    conversation = conversation_get(user, conversation_id)
    return (
        Message.objects.filter(conversation=conversation, is_visible=True)
        .select_related("author__member")
        .order_by("sent_at", "platform_index", "id")
    )
