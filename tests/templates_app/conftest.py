from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import Conversation, Customer, Message
from templates_app import services

_seq = itertools.count(1)


def make_conversation(shop, buyer_name="Alice Chen", assignee=None) -> Conversation:
    n = next(_seq)
    customer = Customer.objects.create(
        organisation=shop.organisation,
        platform="tiktok_shop",
        im_user_id=f"buyer-{n}",
        display_name=buyer_name,
    )
    return Conversation.objects.create(
        organisation=shop.organisation,
        shop_account=shop,
        customer=customer,
        platform_conversation_id=f"conv-{n}",
        assignee=assignee,
    )


def add_message(conversation, *, text="", type="TEXT", content=None, direction="in", ago=0):
    return Message.objects.create(
        conversation=conversation,
        shop_account=conversation.shop_account,
        direction=direction,
        sender_role="BUYER" if direction == "in" else "CUSTOMER_SERVICE",
        type=type,
        text=text,
        content=content or {},
        sent_at=timezone.now() - timedelta(minutes=60 - ago),
    )


def create_reply(actor, **fields):
    fields.setdefault("title", "Greeting")
    fields.setdefault("shortcut", f"s{next(_seq)}")
    fields.setdefault("body", "Hello {{ buyer_name }}!")
    fields.setdefault("scope", "organisation")
    return services.quick_reply_create(actor=actor, **fields)


@pytest.fixture
def replies(world):
    """Org A: one organisation reply, a team reply for shop a1, one for a2, a personal reply of
    agent_a1 and one of agent_a2. Org B: an organisation reply."""
    w = world
    return {
        "org": create_reply(w.supervisor_a, title="Org wide", shortcut="org"),
        "team_a1": create_reply(
            w.supervisor_a,
            title="Team A1",
            shortcut="ta1",
            scope="team",
            shop_account_ids=[w.shop_a1.id],
        ),
        "team_a2": create_reply(
            w.supervisor_a,
            title="Team A2",
            shortcut="ta2",
            scope="team",
            shop_account_ids=[w.shop_a2.id],
        ),
        "mine_a1": create_reply(w.agent_a1, title="Mine A1", shortcut="m1", scope="personal"),
        "mine_a2": create_reply(w.agent_a2, title="Mine A2", shortcut="m2", scope="personal"),
        "org_b": create_reply(w.supervisor_b, title="Org B", shortcut="ob"),
    }
