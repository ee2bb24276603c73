"""``scrm.compiled.read_compiled``: a hot read's SQL compiled once per shape and run with each
call's values — the same rows as the ORM, and a loud refusal where a value would have shaped
the query (issue 18)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

import scrm.compiled
from inbox.models import Conversation, ShopAccount, SyncCursor, Tag
from inbox.selectors.conversations import tag_names_of
from inbox.selectors.queue_rows import shops_shown_for
from scrm.compiled import padded, read_compiled
from scrm.fields import open_or_marker
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


def _names(ids):
    return ShopAccount.objects.filter(id__in=ids).order_by("id").values_list("id", "name")


def test_rows_follow_each_calls_values_not_the_first_calls(world):
    # Given two calls of one shape (one id each) with different values
    a1, a2 = world.shop_a1, world.shop_a2
    # Then each answers its own, as the ORM does
    assert read_compiled("t.names", _names, [a1.id]) == [(a1.id, "A1 US")]
    assert read_compiled("t.names", _names, [a2.id]) == [(a2.id, "A2 UK")]
    # And another shape (two ids) is its own statement
    both = read_compiled("t.names", _names, [a2.id, a1.id])
    assert both == list(_names([a1.id, a2.id]))


def test_the_second_call_compiles_nothing(world):
    read_compiled("t.names", _names, [world.shop_a1.id])
    from django.db.models.sql import compiler

    calls = []
    original = compiler.SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    compiler.SQLCompiler.as_sql = counting
    try:
        with CaptureQueriesContext(connection) as captured:
            rows = read_compiled("t.names", _names, [world.shop_a3.id])
    finally:
        compiler.SQLCompiler.as_sql = original
    assert rows == [(world.shop_a3.id, "A3 MY")]
    assert calls == [] and len(captured.captured_queries) == 1


def test_an_empty_id_list_matches_nothing_without_a_query(world):
    with CaptureQueriesContext(connection) as captured:
        assert read_compiled("t.names", _names, []) == []
    assert captured.captured_queries == []


def test_converters_run_as_the_orms_do(world):
    # Given conversations whose preview is encrypted at rest
    c1 = conversation_with_messages(world.shop_a1, texts=("where is my parcel?",))
    c2 = conversation_with_messages(world.shop_a2, texts=("refund please",))

    def previews(ids):
        return (
            Conversation.objects.filter(id__in=ids)
            .order_by("id")
            .values_list("id", "last_message_preview", "row_uid")
        )

    ids = [c1.id, c2.id]
    rows = read_compiled("t.previews", previews, ids)
    assert rows == list(previews(ids))
    # Then the sealed values open with their rows' keys, as the ORM's do
    opened = {open_or_marker(Conversation, "last_message_preview", p, uid, i) for i, p, uid in rows}
    assert opened == {"where is my parcel?", "refund please"}


def test_a_value_that_shapes_the_query_is_refused_not_answered_wrongly(world):
    # A value the query uses to choose its structure is no parameter: refused at once
    def shaped(shop_id):
        return ShopAccount.objects.filter(name="x" if shop_id else "y").values_list("id")

    with pytest.raises(ValueError, match="key"):
        read_compiled("t.shaped", shaped, world.shop_a1.id)

    # A small-integer column the marker overflows (Django folds that lookup into "no rows"):
    # refused too, never cached as "no rows" for every later call of that shape
    def resting(quiet_runs):
        return SyncCursor.objects.filter(quiet_runs=quiet_runs).values_list("id")

    if connection.vendor == "postgresql":
        with pytest.raises(ValueError, match="key"):
            read_compiled("t.small", resting, 2)
    else:  # SQLite gives every integer column 64 bits: the marker is a parameter like any
        assert read_compiled("t.small", resting, 2) == list(resting(2))


def test_a_statement_compiled_in_one_thread_serves_another(world):
    # (under ASGI every request runs in a thread of its own, with its own connection object)
    read_compiled("t.names", _names, [world.shop_a1.id])
    compiled_there = []

    def other():
        try:
            before = len(scrm.compiled._cache)
            compiled_there.append(read_compiled("t.names", _names, [world.shop_a2.id]))
            compiled_there.append(len(scrm.compiled._cache) - before)
        finally:
            connections["default"].close()

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert compiled_there[1] == 0  # nothing compiled there: the statement was the process's


def test_a_value_changed_by_the_build_is_refused(world):
    def shifted(shop_id):
        return ShopAccount.objects.filter(id=shop_id + 1).values_list("id")

    with pytest.raises(ValueError, match="changed"):
        read_compiled("t.shifted", shifted, world.shop_a1.id)


def test_flat_and_named_rows_are_refused(world):
    with pytest.raises(ValueError, match="plain"):
        read_compiled(
            "t.flat", lambda i: ShopAccount.objects.filter(id=i).values_list("id", flat=True), 1
        )
    with pytest.raises(ValueError, match="plain"):
        read_compiled(
            "t.named", lambda i: ShopAccount.objects.filter(id=i).values_list("id", named=True), 1
        )


def test_padded_lists_keep_the_rows_and_few_shapes(world):
    ids = [world.shop_a1.id, world.shop_a2.id, world.shop_a3.id]
    assert padded(ids) == [*ids, -1]
    assert padded([]) == [] and len(padded(list(range(1, 200)))) == 256
    assert read_compiled("t.names", _names, padded(ids)) == list(_names(ids))


def test_the_queue_reads_equal_their_orm_forms(world):
    # Given a tagged conversation
    c = conversation_with_messages(world.shop_a1, texts=("hello",))
    tag = Tag.objects.create(organisation=world.org_a, name="vip")
    c.tags.add(tag)
    # Then the compiled reads answer as the plain ORM would
    assert tag_names_of([c.id]) == {c.id: ["vip"]}
    assert list(shops_shown_for(world.agent_a2)) == sorted(
        [world.shop_a2.id, world.shop_a3.id],
        key=lambda i: ShopAccount.objects.get(id=i).name,
    )
    assert list(shops_shown_for(world.supervisor_a)) == list(
        ShopAccount.objects.filter(organisation=world.org_a)
        .order_by("name", "id")
        .values_list("id", flat=True)
    )


def test_the_statements_kept_are_bounded(world, monkeypatch):
    import scrm.compiled

    monkeypatch.setattr(scrm.compiled, "MAX_STATEMENTS", 3)
    ids = [world.shop_a1.id, world.shop_a2.id, world.shop_a3.id, world.shop_b1.id]
    read_compiled("t.names", _names, ids[:1])
    for n in range(2, 5):  # three more shapes, the first used again between them
        assert len(read_compiled("t.names", _names, ids[:n])) == n
        assert read_compiled("t.names", _names, ids[:1]) == [(ids[0], "A1 US")]
    # Then three are kept, the one used most recently among them (least recently used go)
    kept = [k for k in scrm.compiled._cache if k[2] == "t.names"]
    assert len(scrm.compiled._cache) == 3 and len(kept) == 3
    assert any(k[3] == (1,) for k in kept)


def test_a_cursors_times_are_values_on_postgresql_only(world):
    # Given conversations a minute apart
    first = conversation_with_messages(world.shop_a1, waited=timedelta(minutes=3))
    second = conversation_with_messages(world.shop_a1, waited=timedelta(minutes=1))

    def after(at):
        return Conversation.objects.filter(last_message_at__gt=at).order_by("id").values_list("id")

    if connection.vendor != "postgresql":  # SQLite's adapter turns the time into text
        with pytest.raises(TypeError):
            read_compiled("t.after", after, first.last_message_at)
        return
    # Then each call's time is its own, as the ORM's
    assert read_compiled("t.after", after, first.last_message_at) == [(second.id,)]
    early = first.last_message_at - timedelta(minutes=1)
    assert read_compiled("t.after", after, early) == [(first.id,), (second.id,)]
    with pytest.raises(TypeError):  # a naive time is refused, not guessed at
        read_compiled("t.after", after, early.replace(tzinfo=None))


def test_the_sla_rules_reads_equal_their_orm_forms_and_follow_every_change(world):
    """The shop's policy and calendar (read for every wait that starts) come from compiled
    statements: the same objects as the ORM's, and a change applies to the next read."""
    from datetime import date, time

    from monitoring.models.sla import BusinessCalendar, Holiday, SlaPolicy
    from monitoring.sla.policies import policy_and_calendar_for_shop

    shop = world.shop_a2  # Europe/London
    # Given only the default, then the organisation's policy and the shop's own override
    policy, calendar = policy_and_calendar_for_shop(shop.id)
    assert policy.pk is None and policy.first_reply_minutes == SlaPolicy().first_reply_minutes
    assert str(calendar.time_zone) == "Europe/London" and calendar.holidays == frozenset()
    SlaPolicy.objects.create(organisation=world.org_a, first_reply_minutes=90)
    override = SlaPolicy.objects.create(
        organisation=world.org_a,
        shop_account=shop,
        first_reply_minutes=30,
        same_day_cutoff=time(16, 30),
        warning_minutes=[20, 5],
    )
    policy, _ = policy_and_calendar_for_shop(shop.id)
    orm = SlaPolicy.objects.get(pk=override.pk)
    fields = [f.attname for f in SlaPolicy._meta.concrete_fields]
    assert [getattr(policy, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert policy.same_day_cutoff == time(16, 30) and policy.warning_minutes == [20, 5]
    # When the override goes, a calendar with a week and a holiday comes
    override.delete()
    week = {"mon": [["08:00", "12:00"]]}
    cal = BusinessCalendar.objects.create(
        organisation=world.org_a, shop_account=shop, working_hours=week
    )
    Holiday.objects.create(calendar=cal, date=date(2026, 12, 25), name="Christmas")
    policy, calendar = policy_and_calendar_for_shop(shop.id)
    # Then the organisation's policy and the new calendar apply at once
    assert policy.first_reply_minutes == 90 and policy.shop_account_id is None
    assert calendar.holidays == frozenset({date(2026, 12, 25)})
    assert calendar.working_hours != policy_and_calendar_for_shop(world.shop_a1.id)[1].working_hours
    # And an unknown shop is the ORM's DoesNotExist, as before
    with pytest.raises(ShopAccount.DoesNotExist):
        policy_and_calendar_for_shop(10**9)


def test_strings_and_lists_of_strings_are_values_too(world):
    a = conversation_with_messages(world.shop_a1, buyer="Ana")
    b = conversation_with_messages(world.shop_a1, buyer="Bo")

    def by_platform_id(shop_id, platform_id):
        return Conversation.objects.filter(
            shop_account_id=shop_id, platform_conversation_id=platform_id
        ).values_list("id")

    def by_platform_ids(shop_id, platform_ids):
        return (
            Conversation.objects.filter(
                shop_account_id=shop_id, platform_conversation_id__in=platform_ids
            )
            .order_by("id")
            .values_list("id")
        )

    shop = world.shop_a1.id
    # Each call answers its own string, as the ORM does
    assert read_compiled("t.pid", by_platform_id, shop, a.platform_conversation_id) == [(a.id,)]
    assert read_compiled("t.pid", by_platform_id, shop, b.platform_conversation_id) == [(b.id,)]
    assert read_compiled("t.pid", by_platform_id, shop, "no-such-id") == []
    both = [a.platform_conversation_id, b.platform_conversation_id]
    assert read_compiled("t.pids", by_platform_ids, shop, both) == [(a.id,), (b.id,)]
    assert read_compiled("t.pids", by_platform_ids, shop, both[1:]) == [(b.id,)]
    assert read_compiled("t.pids", by_platform_ids, shop, []) == []

    # A build that changes the text (a contains lookup wraps it in %…%) is refused
    def containing(text):
        return Conversation.objects.filter(platform_conversation_id__contains=text).values_list(
            "id"
        )

    with pytest.raises(ValueError):
        read_compiled("t.contains", containing, "abc")

    # So is one that escapes it for LIKE (its _ % and \\ would stay live, a_b matching axb)
    def starting(text):
        return Conversation.objects.filter(platform_conversation_id__istartswith=text).values_list(
            "id"
        )

    with pytest.raises(ValueError):
        read_compiled("t.istartswith", starting, "a_b")


def test_model_instances_equal_the_orms_select_related_read(world):
    from scrm.compiled import instances_compiled

    first = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    second = conversation_with_messages(world.shop_a1, buyer="李雷")

    def locked(shop_id, platform_id):
        return Conversation.objects.select_for_update(of=("self",)).filter(
            shop_account_id=shop_id, platform_conversation_id=platform_id
        )

    from django.db import transaction

    for conversation in (first, second):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            (mine,) = instances_compiled(
                "t.locked",
                Conversation,
                locked,
                world.shop_a1.id,
                conversation.platform_conversation_id,
                related=("customer",),
            )
            # the buyer comes with it: reading them is no query
            name = mine.customer.display_name
        assert len(queries) == 1
        # the row lock is in the statement, on the conversation's row only (SQLite has none:
        # one writer at a time)
        if connection.vendor == "postgresql":
            assert queries[0]["sql"].endswith('FOR UPDATE OF "inbox_conversation"')
        orm = Conversation.objects.select_related("customer").get(pk=conversation.pk)
        for field in Conversation._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(orm, field.attname), field.attname
        for field in orm.customer._meta.concrete_fields:
            assert getattr(mine.customer, field.attname) == getattr(orm.customer, field.attname), (
                field.attname
            )
        assert name == orm.customer.display_name  # the sealed name, opened with its row
        assert not mine._state.adding and mine._state.db == "default"
        assert not mine.customer._state.adding
    # And a build of another model than the one named is refused
    with pytest.raises(TypeError):
        instances_compiled("t.wrong", ShopAccount, locked, world.shop_a1.id, "x")


def test_auto_assignments_shop_read_keeps_its_lock(world):
    """The shop's row locked FOR NO KEY UPDATE (assigners take turns while the shop's other
    inserts go on), also as a compiled statement."""
    from django.db import transaction

    from inbox.models import AssignmentMode
    from inbox.services.assignment import conversation_auto_assign

    ShopAccount.objects.filter(pk=world.shop_a1.pk).update(
        assignment_mode=AssignmentMode.ROUND_ROBIN
    )
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(pk=conversation.pk).update(assignee=None)
    conversation.assignee_id = None
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        conversation_auto_assign(conversation=conversation)
    shop_reads = [
        q["sql"] for q in queries.captured_queries if 'FROM "inbox_shopaccount"' in q["sql"]
    ]
    assert shop_reads, [q["sql"][:80] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert shop_reads[0].endswith("FOR NO KEY UPDATE")


def test_a_stored_messages_reads_equal_their_orm_forms(world):
    """The two reads a buyer's message of a known conversation makes, compiled once: its last
    visible message (the queue row's preview) and its chat's last response request."""
    from inbox.models import Message
    from inbox.services.ingestion import _last_visible
    from monitoring.metrics.facts import _last_request
    from monitoring.models.metrics import ResponseFact
    from scrm.compiled import instances_compiled

    conversations = [
        conversation_with_messages(world.shop_a1, texts=("Hi", "Where is it?", "Hello?")),
        conversation_with_messages(world.shop_a1, buyer="李雷", texts=("你好",)),
    ]
    for conversation in conversations:
        # two requests of the chat: the first answered, the second waiting
        for n, state in ((2, "answered"), (1, "open")):
            ResponseFact.objects.create(
                organisation_id=conversation.organisation_id,
                shop_account_id=conversation.shop_account_id,
                subject="chat",
                conversation_id=conversation.pk,
                state=state,
                received_at=conversation.last_message_at - timedelta(minutes=n),
                local_date=conversation.last_message_at.date(),
                answered_at=None if state == "open" else conversation.last_message_at,
            )
        orm_message = (
            Message.objects.filter(conversation=conversation, is_visible=True)
            .order_by("-sent_at", "-platform_index", "-id")
            .first()
        )
        orm_request = (
            ResponseFact.objects.filter(conversation_id=conversation.pk)
            .order_by("-received_at", "-id")
            .first()
        )
        assert orm_message is not None and orm_request is not None
        for key, model, build, orm in (
            ("ingestion.last_visible", Message, _last_visible, orm_message),
            ("facts.last_request", ResponseFact, _last_request, orm_request),
        ):
            (mine,) = instances_compiled(key, model, build, conversation.pk)
            for field in model._meta.concrete_fields:
                assert getattr(mine, field.attname) == getattr(orm, field.attname), field.attname
        assert mine.pk == orm_request.pk
    # the preview's text, opened with its row
    (last,) = instances_compiled(
        "ingestion.last_visible", Message, _last_visible, conversations[0].pk
    )
    assert last.text == "Hello?"
