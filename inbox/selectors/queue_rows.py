"""A queue page's conversations read as columns, not model instances.

The queue shows fifty conversations a page, each with its shop, its buyer's name and its
assignee. Read as model instances (``select_related``) that is ~250 instances a page, the
largest share of the request's time; read as ``values_list`` it is fifty small objects with the
same attributes ``conversation_payload`` (the API and events) and ``_queue_row.html`` (the
page) read from a ``Conversation``: ``shop_account``, ``customer``, ``assignee`` (with its
``member``), ``get_priority_display()``. Read-only: nothing here is saved.

The page's query joins only the buyer: the shops come from the read of the user's shops that
scopes the queue anyway (``shops_shown_for``), the assignees from one small read of the few
people on the page (``attach_assignees``). PostgreSQL planned the five-table join in 1.5-4 ms,
more than it took to run it; the two-table one plans in 0.2-0.4 ms.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet

from inbox.models import Conversation, Customer, Platform, Priority
from inbox.selectors.accounts import AnyUser, member_for, shops_of_member
from scrm.compiled import padded, read_compiled
from scrm.fields import open_or_marker

# The columns of a row, in the order ``ConversationRow.__init__`` unpacks them.
COLUMNS = (
    "id",
    "platform_conversation_id",
    "status",
    "priority",
    "unread_count",
    "last_message_at",
    "last_message_preview",
    "row_uid",
    "last_buyer_message_at",
    "waiting_since",
    "queue_key",
    "snoozed_until",
    "sla_due_at",
    "can_send_message",
    "organisation_id",
    "shop_account_id",
    "customer_id",
    "customer__display_name",
    "customer__row_uid",
    "assignee_id",
)


class ShopView:
    """The shop account as a queue row shows it (never its credentials)."""

    __slots__ = ("id", "name", "pk", "platform", "region", "time_zone")

    def __init__(self, pk: int, name: str, platform: str, region: str, time_zone: str) -> None:
        self.id = self.pk = pk
        self.name, self.platform, self.region, self.time_zone = name, platform, region, time_zone

    def get_platform_display(self) -> str:
        return str(dict(Platform.choices).get(self.platform, self.platform))

    def __str__(self) -> str:
        return self.name


class BuyerView:
    __slots__ = ("display_name", "id", "pk")

    def __init__(self, pk: int, display_name: str) -> None:
        self.id = self.pk = pk
        self.display_name = display_name


class MemberView:
    __slots__ = ("display_name",)

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name


class PersonView:
    """An assignee as ``person_payload`` and the ``person`` filter read one."""

    __slots__ = ("id", "member", "pk", "username")

    def __init__(self, pk: int, username: str, display_name: str | None) -> None:
        self.id = self.pk = pk
        self.username = username
        self.member = MemberView(display_name or "")

    def get_username(self) -> str:
        return self.username


class ConversationRow:
    """A conversation of the queue page (the columns of ``COLUMNS``, the preview and the
    buyer's name decrypted). The page sets ``tag_names``, ``deadline`` and ``sort_key``."""

    id: int
    status: str
    priority: int
    queue_key: datetime
    sla_due_at: datetime
    last_message_at: datetime
    shop_account: ShopView
    customer: BuyerView
    assignee: PersonView | None
    tag_names: list[str]

    def __init__(self, values: tuple[Any, ...], shops: dict[int, ShopView]) -> None:
        """``values`` in the order of ``COLUMNS``; ``shops`` holds the row's shop (the user's
        shops: the queue reads no other)."""
        (
            self.id,
            self.platform_conversation_id,
            self.status,
            self.priority,
            self.unread_count,
            self.last_message_at,
            preview,
            self.row_uid,
            self.last_buyer_message_at,
            self.waiting_since,
            self.queue_key,
            self.snoozed_until,
            self.sla_due_at,
            self.can_send_message,
            self.organisation_id,
            self.shop_account_id,
            self.customer_id,
            buyer_name,
            buyer_uid,
            self.assignee_id,
        ) = values
        self.pk = self.id
        self.last_message_preview = open_or_marker(
            Conversation, "last_message_preview", preview, self.row_uid, self.id
        )
        self.shop_account = shops[self.shop_account_id]
        self.customer = BuyerView(
            self.customer_id,
            open_or_marker(Customer, "display_name", buyer_name, buyer_uid, self.customer_id),
        )
        self.assignee = None  # attach_assignees
        self.tag_names = []

    def get_priority_display(self) -> str:
        return str(dict(Priority.choices).get(self.priority, self.priority))


def shops_shown_for(user: AnyUser) -> dict[int, ShopView]:
    """The shop accounts the user may work on (``shop_account_list``: the queue's scope), by
    id in their list order, as rows show them: one query."""
    member = member_for(user)
    if member.sees_all_shops:  # every shop of the organisation: the person is no value
        values: tuple[int, ...] = (member.organisation_id,)
    else:
        values = (member.organisation_id, member.user_id)
    rows = read_compiled(("shops_shown_for", member.sees_all_shops), _shops_query, *values)
    return {row[0]: ShopView(*row) for row in rows}


def _shops_query(organisation_id: int, user_id: int | None = None) -> QuerySet[Any]:
    """``shop_account_list``'s query: of a supervisor or admin (no ``user_id``: every shop of
    the organisation) or of an agent (``read_compiled``)."""
    ids = SimpleNamespace(organisation_id=organisation_id, user_id=user_id)
    return shops_of_member(ids, sees_all_shops=user_id is None).values_list(
        "id", "name", "platform", "region", "time_zone"
    )


def attach_assignees(rows: list[ConversationRow]) -> None:
    """Each row's ``assignee`` (login and display name): one query for the page's few people,
    none when nobody on it is assigned."""
    from django.contrib.auth import get_user_model

    ids = {r.assignee_id for r in rows if r.assignee_id is not None}
    if not ids:
        return
    people = {
        pk: PersonView(pk, username, display_name)
        for pk, username, display_name in read_compiled(
            "attach_assignees",
            lambda pks: (
                get_user_model()
                .objects.filter(pk__in=pks)
                .values_list("pk", "username", "member__display_name")
            ),
            padded(sorted(ids)),
        )
    }
    for r in rows:
        if r.assignee_id is not None:
            r.assignee = people.get(r.assignee_id)
