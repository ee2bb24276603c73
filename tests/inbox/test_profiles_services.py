"""Customer profile services: update, custom fields, notes, follow-ups, merge and its undo,
each scoped (outside the person's shops: not found) and audited with ids only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import Conversation, Customer, CustomerNote, FollowUp, Order
from inbox.selectors.profiles import profile_search
from inbox.services import profiles as work
from monitoring.models import AuditEvent
from scrm.api import Conflict, Forbidden, NotFound, ServiceError
from tests.inbox.case_builders import case_needing_decision
from tests.inbox.profile_builders import buyer, order_for

pytestmark = pytest.mark.django_db


def _audit(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_an_agent_updates_phone_email_and_the_new_phone_is_found(world):
    # Given a buyer of shop a1
    customer = buyer(world.shop_a1)
    # When agent_a1 sets a phone and e-mail
    work.customer_update(
        actor=world.agent_a1,
        customer_id=customer.id,
        changes={"phone": "+1 (415) 555-4821", "email": "alice@example.com", "country": "us"},
    )
    # Then searching by the phone without its country code, or the e-mail, finds them
    assert [c.id for c in profile_search(world.agent_a1, "4155554821")] == [customer.id]
    assert [c.id for c in profile_search(world.agent_a1, "alice@example.com")] == [customer.id]
    assert Customer.objects.get(id=customer.id).country == "US"
    # And the audit names the fields, never the values
    [event] = _audit("customer.updated")
    assert event.data == {"fields": ["country", "email", "phone"]}
    assert "4821" not in str(event.data) and "alice" not in str(event.data)


def test_bad_values_are_refused_and_nothing_changes(world):
    customer = buyer(world.shop_a1, phone="+44 20 7946 0018")
    for changes in (
        {"phone": "call me"},
        {"email": "not-an-email"},
        {"country": "USA"},
        {"custom_fields": {"nope": 1}},
        {"tags": "vip"},
        {"phone": "+1 415 555 0000", "custom_fields": {"nope": 1}},
    ):
        with pytest.raises(ServiceError) as refused:
            work.customer_update(actor=world.agent_a1, customer_id=customer.id, changes=changes)
        assert refused.value.status_code == 400
    assert Customer.objects.get(id=customer.id).phone == "+44 20 7946 0018"


def test_outsiders_get_not_found(world):
    customer = buyer(world.shop_a1)
    for outsider in (world.agent_a2, world.supervisor_b, world.agent_b):
        with pytest.raises(NotFound):
            work.customer_update(actor=outsider, customer_id=customer.id, changes={"country": "GB"})
        with pytest.raises(NotFound):
            work.customer_note_add(actor=outsider, customer_id=customer.id, text="hi")


def test_custom_fields_are_checked_against_their_kind(world):
    customer = buyer(world.shop_a1)
    with pytest.raises(Forbidden):
        work.customer_field_create(actor=world.agent_a1, key="vip", label="VIP", kind="text")
    work.customer_field_create(
        actor=world.supervisor_a, key="vip", label="VIP", kind="choice", choices=["gold", "silver"]
    )
    work.customer_field_create(actor=world.supervisor_a, key="since", label="Since", kind="date")
    work.customer_field_create(actor=world.supervisor_a, key="spend", label="Spend", kind="number")
    with pytest.raises(ServiceError) as duplicate:
        work.customer_field_create(actor=world.supervisor_a, key="vip", label="x", kind="text")
    assert duplicate.value.status_code == 409
    changes = {"custom_fields": {"vip": "gold", "since": "2025-02-01", "spend": "12.5"}}
    work.customer_update(actor=world.agent_a1, customer_id=customer.id, changes=changes)
    assert Customer.objects.get(id=customer.id).custom_fields == {
        "vip": "gold",
        "since": "2025-02-01",
        "spend": 12.5,
    }
    for bad in ({"vip": "platinum"}, {"since": "yesterday"}, {"spend": "nan"}):
        with pytest.raises(ServiceError):
            work.customer_update(
                actor=world.agent_a1, customer_id=customer.id, changes={"custom_fields": bad}
            )
    # An archived field takes no new value, and its stored value stays
    vip = work.customer_field_create(
        actor=world.supervisor_a, key="tier", label="Tier", kind="text"
    )
    work.customer_field_archive(actor=world.supervisor_a, field_id=vip.id)
    with pytest.raises(ServiceError):
        work.customer_update(
            actor=world.agent_a1, customer_id=customer.id, changes={"custom_fields": {"tier": "a"}}
        )
    assert Customer.objects.get(id=customer.id).custom_fields["vip"] == "gold"


def test_notes_added_and_deleted_by_their_author_or_a_supervisor(world):
    customer = buyer(world.shop_a1)
    note = work.customer_note_add(actor=world.agent_a1, customer_id=customer.id, text="VIP")
    assert CustomerNote.objects.get(id=note.id).text == "VIP"
    with pytest.raises(NotFound):
        work.customer_note_delete(actor=world.agent_a2, customer_id=customer.id, note_id=note.id)
    work.customer_note_delete(actor=world.supervisor_a, customer_id=customer.id, note_id=note.id)
    assert not CustomerNote.objects.filter(id=note.id).exists()
    assert [e.data for e in _audit("customer.note_added")] == [{"customer_id": customer.id}]


def test_follow_up_create_complete_reopen(world):
    customer = buyer(world.shop_a1)
    due = timezone.now() + timedelta(hours=2)
    follow_up = work.follow_up_create(
        actor=world.agent_a1, customer_id=customer.id, promise="Send tracking", due_at=due
    )
    assert follow_up.owner_id == world.agent_a1.id
    assert follow_up.shop_account_id == world.shop_a1.id
    # An owner who does not work on the shop is refused
    with pytest.raises(ServiceError):
        work.follow_up_create(
            actor=world.agent_a1,
            customer_id=customer.id,
            promise="x",
            due_at=due,
            owner_id=world.agent_a2.id,
        )
    work.follow_up_complete(
        actor=world.agent_a1, customer_id=customer.id, follow_up_id=follow_up.id
    )
    assert FollowUp.objects.get(id=follow_up.id).done_at is not None
    work.follow_up_reopen(actor=world.agent_a1, customer_id=customer.id, follow_up_id=follow_up.id)
    assert FollowUp.objects.get(id=follow_up.id).done_at is None


def _two_profiles(world):
    survivor = buyer(world.shop_a1, "Alice Wong")
    merged = buyer(world.shop_a2, "alice w")
    order_for(merged, world.shop_a2)
    case_needing_decision(world.shop_a2, customer=merged)
    work.customer_note_add(actor=world.supervisor_a, customer_id=merged.id, text="same person")
    work.customer_update(actor=world.supervisor_a, customer_id=merged.id, changes={"tags": ["vip"]})
    return survivor, merged


def test_merge_moves_everything_and_undo_puts_it_back_exactly(world):
    survivor, merged = _two_profiles(world)
    before = {
        "conversations": set(Conversation.objects.filter(customer=merged).values_list("id")),
        "orders": set(Order.objects.filter(customer=merged).values_list("id")),
    }
    # Agents may not merge
    with pytest.raises(Forbidden):
        work.customer_merge(actor=world.agent_a1, survivor_id=survivor.id, merged_id=merged.id)
    merge = work.customer_merge(
        actor=world.supervisor_a, survivor_id=survivor.id, merged_id=merged.id
    )
    assert Conversation.objects.filter(customer=survivor).count() == 2
    assert Order.objects.filter(customer=survivor).count() == 1
    assert list(survivor.tags.values_list("name", flat=True)) == ["vip"]
    assert Customer.objects.get(id=merged.id).merged_into_id == survivor.id
    # The merged profile is no longer found; the survivor is
    assert [c.id for c in profile_search(world.supervisor_a, "alice")] == [survivor.id]
    # A second merge of the same profile is refused
    with pytest.raises(Conflict):
        work.customer_merge(actor=world.supervisor_a, survivor_id=survivor.id, merged_id=merged.id)
    # Undo
    work.customer_merge_undo(actor=world.supervisor_a, merge_id=merge.id)
    assert (
        set(Conversation.objects.filter(customer=merged).values_list("id"))
        == before["conversations"]
    )
    assert set(Order.objects.filter(customer=merged).values_list("id")) == before["orders"]
    assert list(survivor.tags.all()) == []
    assert Customer.objects.get(id=merged.id).merged_into_id is None
    found = {c.id for c in profile_search(world.supervisor_a, "alice")}
    assert found == {survivor.id, merged.id}
    with pytest.raises(Conflict):
        work.customer_merge_undo(actor=world.supervisor_a, merge_id=merge.id)
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="customer.merge")] == [
        "customer.merged",
        "customer.merge_undone",
    ]


def test_undo_is_refused_when_the_survivor_was_merged_since(world):
    survivor, merged = _two_profiles(world)
    third = buyer(world.shop_a3, "Alice Third")
    merge = work.customer_merge(
        actor=world.supervisor_a, survivor_id=survivor.id, merged_id=merged.id
    )
    work.customer_merge(actor=world.supervisor_a, survivor_id=third.id, merged_id=survivor.id)
    with pytest.raises(Conflict) as refused:
        work.customer_merge_undo(actor=world.supervisor_a, merge_id=merge.id)
    assert refused.value.code == "merge_not_undoable"
    assert Customer.objects.get(id=merged.id).merged_into_id == survivor.id


def test_undo_is_refused_when_a_moved_row_moved_again(world):
    survivor, merged = _two_profiles(world)
    merge = work.customer_merge(
        actor=world.supervisor_a, survivor_id=survivor.id, merged_id=merged.id
    )
    other = buyer(world.shop_a1, "Bob")
    Order.objects.filter(id__in=merge.moved["orders"]).update(customer=other)
    with pytest.raises(Conflict):
        work.customer_merge_undo(actor=world.supervisor_a, merge_id=merge.id)
