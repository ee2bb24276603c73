"""Reads scoped to the acting user (see accounts.py for the access rule)."""

from inbox.selectors.accounts import (
    AnyUser,
    member_for,
    member_shop_ids_sql,
    membership_list,
    shop_account_get,
    shop_account_ids_for,
    shop_account_list,
)
from inbox.selectors.conversations import (
    QueueFilters,
    conversation_get,
    conversation_list,
    conversation_messages,
)
from inbox.selectors.events import FeedEvent, event_last_id, event_list_after, viewer_for
from inbox.selectors.team import TeamOverview, team_overview
from inbox.selectors.workspace import (
    colleague_list,
    customer_conversations,
)

__all__ = [
    "AnyUser",
    "FeedEvent",
    "QueueFilters",
    "TeamOverview",
    "colleague_list",
    "conversation_get",
    "conversation_list",
    "conversation_messages",
    "customer_conversations",
    "event_last_id",
    "event_list_after",
    "member_for",
    "member_shop_ids_sql",
    "membership_list",
    "shop_account_get",
    "shop_account_ids_for",
    "shop_account_list",
    "team_overview",
    "viewer_for",
]
