"""Reads the web workspace needs besides the queue itself (all scoped like the queue)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inbox.models import Conversation, Member, Role
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
