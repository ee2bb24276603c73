"""A buyer's data across merged profiles (one person: the export and the erasure take both),
and the export's cost not growing with the buyer's history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.models import Customer, Message
from inbox.services.buyer_data import customer_erase, customer_export
from inbox.services.profiles import customer_merge, customer_merge_undo
from scrm.api import Conflict
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


def test_a_merged_profile_is_exported_and_erased_with_its_survivor(world, admin):
    # Given one person who wrote to two shops under two profiles, merged into one
    first = conversation_with_messages(world.shop_a1, buyer="Ilse QXONE", texts=("QXFIRST",))
    second = conversation_with_messages(world.shop_a2, buyer="Ilse QXTWO", texts=("QXSECOND",))
    merge = customer_merge(actor=admin, survivor_id=first.customer_id, merged_id=second.customer_id)
    # When an admin exports the survivor's data: both profiles and both chats are in it
    doc = customer_export(actor=admin, customer_id=first.customer_id)
    assert [p["name"] for p in doc["merged_profiles"]] == ["Ilse QXTWO"]
    texts = {m["text"] for c in doc["conversations"] for m in c["messages"]}
    assert texts == {"QXFIRST", "QXSECOND"}
    # The merged-away profile alone cannot be erased: its data lives on the survivor now
    with pytest.raises(Conflict) as refused:
        customer_erase(actor=admin, customer_id=second.customer_id, reason="ticket 7")
    assert refused.value.code == "merged_profile"
    assert refused.value.details == {"merged_into": first.customer_id}
    assert Customer.objects.get(pk=second.customer_id).erased_at is None
    # When they erase it: both profiles and both chats are wiped
    counts = customer_erase(actor=admin, customer_id=first.customer_id, reason="ticket 7")
    assert (counts["profiles"], counts["conversations"]) == (2, 2)
    for pk in (first.customer_id, second.customer_id):
        customer = Customer.objects.get(pk=pk)
        assert customer.erased_at is not None and customer.display_name == ""
    assert {m.text for m in Message.objects.all()} == {""}
    # And the merge can no longer be undone (the erased data would come back nowhere)
    with pytest.raises(Conflict):
        customer_merge_undo(actor=admin, merge_id=merge.id)


def test_the_export_costs_the_same_queries_for_a_longer_history(world, admin):
    conversation = conversation_with_messages(world.shop_a1, buyer="Ruth QXR", texts=("a",))
    customer_id = conversation.customer_id
    customer_export(actor=admin, customer_id=customer_id)  # the person's membership, cached
    with CaptureQueriesContext(connection) as short:
        customer_export(actor=admin, customer_id=customer_id)
    # Given the same buyer with more chats in more shops, more messages each
    for shop in (world.shop_a1, world.shop_a2, world.shop_a2):
        more = conversation_with_messages(shop, buyer="Ruth QXR", texts=("b", "c", "d"))
        more.customer_id = customer_id
        more.save(update_fields=["customer"])
    with CaptureQueriesContext(connection) as long:
        doc = customer_export(actor=admin, customer_id=customer_id)
    assert len(doc["conversations"]) == 4
    assert len(long.captured_queries) == len(short.captured_queries)
