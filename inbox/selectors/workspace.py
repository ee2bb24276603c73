"""Reads the web workspace needs besides the queue itself (all scoped like the queue)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.models import Conversation, Member, Role, Tag
from inbox.selectors.accounts import AnyUser, member_for, shop_account_ids_for
from inbox.selectors.conversations import QueueFilters, conversation_list


def customer_conversations(
    user: AnyUser, conversation: Conversation, limit: int = 10
) -> list[Conversation]:
    """The same buyer's other conversations, across every shop the user may see.

    Keeps: built on ``conversation_list``, so an agent never sees another shop's chat.
    """
    qs: QuerySet[Conversation] = conversation_list(
        user, QueueFilters(statuses=(), sort="newest")
    ).filter(customer_id=conversation.customer_id)
    return list(qs.exclude(id=conversation.id)[:limit])


def colleague_list(user: AnyUser) -> list[Member]:
    """People the user may hand conversations to: colleagues on at least one of the user's
    shops, and the organisation's supervisors and admins.

    Keeps: nobody of another organisation; the assign service still checks each conversation.
    """
    member = member_for(user)
    shops = shop_account_ids_for(user)
    qs = Member.objects.filter(organisation_id=member.organisation_id, user__is_active=True).filter(
        Q(role__in=[Role.ADMIN, Role.SUPERVISOR])
        | Q(user__shop_memberships__shop_account_id__in=shops)
    )
    return list(qs.select_related("user").distinct().order_by("display_name", "user__username"))


@dataclass(frozen=True)
class Assignee:
    user_id: int
    name: str
    online: bool


def assignee_choices(user: AnyUser, conversation: Conversation) -> list[Assignee]:
    """Who can take this conversation over: the active people of its organisation who work on
    its shop (members of the shop, supervisors and admins), online ones first, then by name.

    Keeps: the same rule the assign service checks (``_check_assignee``); the conversation is
    one the user may see (the caller got it from ``conversation_get``).
    """
    from inbox.services.presence import PRESENCE_WINDOW, is_online

    member = member_for(user)
    if conversation.organisation_id != member.organisation_id:
        return []
    qs = (
        Member.objects.filter(organisation_id=member.organisation_id, user__is_active=True)
        .filter(
            Q(role__in=[Role.ADMIN, Role.SUPERVISOR])
            | Q(user__shop_memberships__shop_account_id=conversation.shop_account_id)
        )
        .select_related("user", "user__presence")
        .distinct()
    )
    since = timezone.now() - PRESENCE_WINDOW
    people = []
    for m in qs:
        online = is_online(getattr(m.user, "presence", None), since=since)
        people.append(Assignee(user_id=m.user_id, name=m.name, online=online))
    people.sort(key=lambda a: (not a.online, a.name.lower()))
    return people


def tag_names(user: AnyUser) -> list[str]:
    """The names of the tags used in the user's organisation (the header's suggestions)."""
    member = member_for(user)
    return list(
        Tag.objects.filter(organisation_id=member.organisation_id)
        .order_by("name")
        .values_list("name", flat=True)[:500]
    )
