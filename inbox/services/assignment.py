"""Automatic assignment: new conversations among a shop's online agents, and an unassigned
conversation to the person who replies in it (when the organisation asks for it)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from inbox.models import AssignmentMode, Conversation, Role, ShopAccount
from inbox.selectors.accounts import AnyUser, member_for
from inbox.services.presence import PRESENCE_WINDOW
from scrm.compiled import instances_compiled
from scrm.db import row_update

ONLINE_WINDOW = PRESENCE_WINDOW


def online_agents(shop: ShopAccount) -> list[int]:
    """Ids of the shop's agents with an inbox open now (a socket seen in the last 2 minutes)."""
    User = get_user_model()
    return list(
        User.objects.filter(
            is_active=True,
            shop_memberships__shop_account=shop,
            member__role=Role.AGENT,
            presence__connections__gt=0,
            presence__last_seen_at__gte=timezone.now() - ONLINE_WINDOW,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def _assigning_shop(shop_id: int) -> QuerySet[ShopAccount]:
    # Compiled once per process (``scrm.compiled``): read for every new conversation.
    return (
        ShopAccount.objects.select_for_update(no_key=True)
        .filter(pk=shop_id)
        .exclude(assignment_mode=AssignmentMode.MANUAL)
    )


def conversation_auto_assign(*, conversation: Conversation) -> int | None:
    """Give a new, unassigned conversation to an online agent per the shop's mode.

    Round robin takes the next agent after the last one given work; least-open takes the agent
    with the fewest open conversations in that shop (ties: lowest id). Manual mode, or nobody
    online, leaves it unassigned. Call inside the ingestion transaction.
    """
    if conversation.assignee_id:
        return None
    # The shop's row read now (a shop read when a backfill run began may have been switched
    # from manual since, and its new conversations would stay unassigned), and locked only when
    # it assigns: a manual shop's new conversations do not wait for each other's commits. FOR
    # NO KEY UPDATE: assigners take turns, while the rows that reference the shop (messages,
    # conversations, deadlines: FOR KEY SHARE) are written meanwhile; FOR UPDATE would hold
    # every insert of the shop until the assigner commits.
    found = instances_compiled(
        "assignment.shop_locked", ShopAccount, _assigning_shop, conversation.shop_account_id
    )
    if not found:
        return None
    shop = found[0]
    candidates = online_agents(shop)
    if not candidates:
        return None
    if shop.assignment_mode == AssignmentMode.ROUND_ROBIN:
        last = shop.last_assigned_user_id or 0
        chosen = next((c for c in candidates if c > last), candidates[0])
    else:
        User = get_user_model()
        loads = (
            User.objects.filter(id__in=candidates)
            .annotate(
                open_count=Count(
                    "assigned_conversations",
                    filter=Q(
                        assigned_conversations__shop_account=shop,
                        assigned_conversations__status__in=["open", "pending"],
                    ),
                )
            )
            .order_by("open_count", "id")
            .values_list("id", flat=True)
        )
        chosen = loads[0]
    conversation.assignee_id = chosen
    # After the store's deferred UPDATE of the row (scrm.db.writes_deferred), in its round trip.
    row_update(conversation, ["assignee"])
    ShopAccount.objects.filter(pk=shop.pk).update(last_assigned_user_id=chosen)
    from monitoring.audit import audit_record

    audit_record(  # the system chose: no person's address (a webhook's would mislead)
        organisation_id=conversation.organisation_id,
        actor=None,
        action="conversation.auto_assigned",
        shop_account_id=conversation.shop_account_id,
        target=conversation,
        data={"assignee_id": chosen, "mode": shop.assignment_mode},
    )
    return chosen


def conversation_assign_on_reply(*, actor: AnyUser, conversation_id: int) -> bool:
    """Give an unassigned conversation to the person replying in it, when their organisation
    has ``assign_on_reply`` on; returns whether it did.

    Keeps: call it inside the reply's transaction, after the reply's row is written and with
    the conversation's row locked (``message_send`` does both), so two agents replying at once
    cannot both take it; a conversation someone holds is never taken away; the assignment is
    the assign service's own (``conversation_assign``: checked, audited as
    ``conversation.assigned``, published as ``conversation.updated``).
    """
    from inbox.services.conversations import conversation_assign

    if not member_for(actor).organisation.assign_on_reply:
        return False
    unassigned = Conversation.objects.filter(id=conversation_id, assignee__isnull=True).exists()
    if not unassigned:
        return False
    conversation_assign(actor=actor, conversation_id=conversation_id, assignee_id=actor.pk)
    return True
