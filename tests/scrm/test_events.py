"""The events contract (scrm/events.py): a kind is registered once with a schema its example
matches; a payload that drifts from its schema is refused in development and tests, and the
refusal names the field, never its value; a kind goes only to the audience it declares."""

from __future__ import annotations

from typing import TypedDict

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from inbox.events import CONVERSATION_UPDATED, MESSAGE_CREATED
from inbox.models import InboxEvent
from scrm.events import (
    Audience,
    EventAudienceMismatch,
    EventPayloadInvalid,
    EventSpec,
    UnknownEventKind,
    event_kind_register,
    event_kind_unregister,
    event_publish,
    events_publish,
    payload_check,
    user_group,
)
from tests.inbox.event_payloads import marked, marker_of


class Probe(TypedDict):
    id: int
    label: str | None
    tags: list[str]


def test_a_payload_must_match_its_schema_exactly():
    good = marked(CONVERSATION_UPDATED, "ok")
    payload_check(CONVERSATION_UPDATED, good)

    cases = {
        "missing": {k: v for k, v in good.items() if k != "status"},
        "extra": {**good, "buyer_phone": "+44 7700 900123"},
        "wrong type": {**good, "priority": "Emily R."},
        "bool is no int": {**good, "unread_count": True},
        "nested": {**good, "customer": {"id": 17, "name": 42}},
        "list item": {**good, "tags": ["refund", 7]},
        "not null": {**good, "shop_account": None},
    }
    for case, payload in cases.items():
        with pytest.raises(EventPayloadInvalid) as refused:
            payload_check(CONVERSATION_UPDATED, payload)
        message = str(refused.value)
        # The refusal says where and what type, never the value (payloads are personal data)
        assert "conversation.updated" in message, case
        for secret in ("Emily R.", "+44 7700 900123"):
            assert secret not in message, case


def test_a_kind_is_registered_once_with_a_schema_its_example_matches():
    with pytest.raises(ValueError):
        event_kind_register(
            name=MESSAGE_CREATED.name, description="again", schema=Probe, example={}
        )
    with pytest.raises(TypeError):
        event_kind_register(name="probe.dict", description="", schema=dict, example={})
    with pytest.raises(EventPayloadInvalid):
        event_kind_register(
            name="probe.bad_example",
            description="",
            schema=Probe,
            example={"id": 1, "label": None},  # no tags
        )

    class Unchecked(TypedDict):
        when: set[str]

    with pytest.raises(TypeError):
        event_kind_register(
            name="probe.unchecked", description="", schema=Unchecked, example={"when": set()}
        )
    for name in ("probe.dict", "probe.bad_example", "probe.unchecked"):
        event_kind_unregister(name)


@pytest.mark.django_db
def test_publishing_refuses_unknown_kinds_drift_and_the_wrong_audience(world):
    def publish(**kwargs):
        with transaction.atomic():
            return event_publish(organisation_id=world.org_a.id, **kwargs)

    shop = {"shop_account_id": world.shop_a1.id}
    with pytest.raises(UnknownEventKind):
        publish(type="buyer.secret", data={}, **shop)
    with pytest.raises(EventPayloadInvalid):
        publish(type=CONVERSATION_UPDATED, data={"id": 1}, **shop)
    with pytest.raises(EventAudienceMismatch):  # a shop's kind without its shop
        publish(type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "x"))
    with pytest.raises(EventAudienceMismatch):  # or to one person
        publish(
            type=CONVERSATION_UPDATED,
            data=marked(CONVERSATION_UPDATED, "x"),
            user_id=world.agent_a1.pk,
        )
    assert not InboxEvent.objects.exists()
    event = publish(type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "ok"), **shop)
    assert (event.type, event.shop_account_id) == ("conversation.updated", world.shop_a1.id)


@pytest.mark.django_db
def test_production_publishes_a_drifted_payload_rather_than_lose_it(world, settings):
    settings.SCRM_EVENTS_CHECK_SCHEMA = False
    with transaction.atomic():
        event = event_publish(
            organisation_id=world.org_a.id,
            shop_account_id=world.shop_a1.id,
            type=CONVERSATION_UPDATED,
            data={"id": 1},
        )
    assert InboxEvent.objects.get(pk=event.pk).data == {"id": 1}


def test_audiences_are_the_three_groups():
    assert {a.value for a in Audience} == {"shop", "user", "supervisors"}


def test_many_events_are_recorded_in_order_and_pushed_after_commit_or_not_at_all(
    world, django_capture_on_commit_callbacks
):
    # Given a socket of agent a1 and one of agent a2 listening on their own groups
    layer = get_channel_layer()
    listening = {}
    for person in (world.agent_a1, world.agent_a2):
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(user_group(person.pk), channel)
        listening[person.pk] = channel
    specs = [
        EventSpec(
            world.org_a.id,
            CONVERSATION_UPDATED,
            marked(CONVERSATION_UPDATED, "one"),
            shop_account_id=world.shop_a1.id,
        ),
        EventSpec(world.org_a.id, "sla.alert", _alert_example(), user_id=world.agent_a1.pk),
        EventSpec(world.org_a.id, "sla.alert", _alert_example(), user_id=world.agent_a2.pk),
    ]

    # When they are published together and the transaction commits
    with django_capture_on_commit_callbacks(execute=True) as pushes, transaction.atomic():
        events = events_publish(specs)

    # Then the feed has them in order, and each person's socket got theirs, once, after commit
    assert [e.type for e in events] == ["conversation.updated", "sla.alert", "sla.alert"]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert list(InboxEvent.objects.order_by("id").values_list("id", flat=True)) == [
        e.id for e in events
    ]
    assert len(pushes) == 1  # one push call for the whole batch
    for event, person in ((events[1], world.agent_a1), (events[2], world.agent_a2)):
        got = async_to_sync(layer.receive)(listening[person.pk])
        assert (got["event"]["id"], got["event"]["type"]) == (event.id, "sla.alert")

    # And a batch with one bad event records none of them
    with pytest.raises(EventPayloadInvalid), transaction.atomic():
        events_publish(
            [
                specs[1],
                EventSpec(world.org_a.id, "sla.alert", {"id": 1}, user_id=world.agent_a1.pk),
            ]
        )
    assert InboxEvent.objects.count() == 3


def _alert_example() -> dict:
    from scrm.events import event_kind_get

    return dict(event_kind_get("sla.alert").example)


def test_events_gathered_are_one_insert_and_one_push_in_publishing_order(
    world, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scrm.events import events_gathered

    # Given a socket on agent a1's group
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(world.agent_a1.pk), channel)
    shop = {"organisation_id": world.org_a.id, "shop_account_id": world.shop_a1.id}
    # When one event, then two together, then one more are published in a gathering
    with (
        django_capture_on_commit_callbacks(execute=True) as pushes,
        CaptureQueriesContext(connection) as queries,
        transaction.atomic(),
        events_gathered(),
    ):
        first = event_publish(
            type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "a"), **shop
        )
        both = events_publish(
            [
                EventSpec(world.org_a.id, "sla.alert", _alert_example(), user_id=world.agent_a1.pk),
                EventSpec(
                    type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "b"), **shop
                ),
            ]
        )
        last = event_publish(
            type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "c"), **shop
        )
        assert first.id is None and not InboxEvent.objects.exists()  # not recorded yet
    # Then they are recorded by one INSERT, in that order, with the transaction's id
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    rows = list(InboxEvent.objects.order_by("id"))
    assert [r.id for r in rows] == [first.id, both[0].id, both[1].id, last.id]
    assert [marker_of(r.type, r.data) for r in rows] == ["a", None, "b", "c"]
    assert len({r.txid for r in rows}) == 1
    assert rows[0].txid is not None or connection.vendor != "postgresql"  # (PostgreSQL's id)
    # and pushed once after commit, the person's alert reaching their socket
    assert len(pushes) == 1
    got = async_to_sync(layer.receive)(channel)
    assert (got["event"]["id"], got["event"]["type"]) == (both[0].id, "sla.alert")

    # And a refused event raises where it is published; the block's events are not recorded
    with pytest.raises(EventPayloadInvalid), transaction.atomic(), events_gathered():
        event_publish(type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "d"), **shop)
        event_publish(type=CONVERSATION_UPDATED, data={"id": 1}, **shop)
    assert InboxEvent.objects.count() == 4


def test_an_event_in_a_rolled_back_savepoint_of_a_gathering_is_not_recorded(world):
    from scrm.events import events_gathered

    shop = {"organisation_id": world.org_a.id, "shop_account_id": world.shop_a1.id}
    with transaction.atomic(), events_gathered():
        event_publish(type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "kept"), **shop)
        try:
            with transaction.atomic():  # a savepoint, rolled back
                event_publish(
                    type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "undone"), **shop
                )
                raise RuntimeError("changed my mind")
        except RuntimeError:
            pass
        event_publish(type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, "also"), **shop)
    rows = InboxEvent.objects.order_by("id")
    assert [marker_of(r.type, r.data) for r in rows] == ["kept", "also"]


def test_events_in_a_block_without_a_savepoint_join_the_gathering(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scrm.events import events_gathered

    shop = {"organisation_id": world.org_a.id, "shop_account_id": world.shop_a1.id}
    # Given a gathering, and inside it blocks that open no savepoint (a batch's conversations
    # each stored in one: inbox.services.ingestion.conversations_store)
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), events_gathered():
        for marker in ("one", "two", "three"):
            with transaction.atomic(savepoint=False):
                event_publish(
                    type=CONVERSATION_UPDATED, data=marked(CONVERSATION_UPDATED, marker), **shop
                )
        assert not InboxEvent.objects.exists()  # not recorded yet
    # Then their events are recorded together when the gathering ends, in order: such a block
    # cannot be rolled back alone (its failure dooms the whole transaction)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    rows = InboxEvent.objects.order_by("id")
    assert [marker_of(r.type, r.data) for r in rows] == ["one", "two", "three"]
