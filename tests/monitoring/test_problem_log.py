"""Every resolved conversation and closed case gets an issue type and the SKU: suggested from
the buyer's words, set by the agent at resolve (the API's PATCH, as the inbox's header sends
it), required only where a supervisor turned that on; the buyer's words kept encrypted."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from inbox.models import AfterSalesCase, Message, Role
from inbox.platforms.base import Participant
from inbox.platforms.base_commerce import AfterSalesLine
from inbox.services import conversations as work
from monitoring.models import AuditEvent
from monitoring.models.problems import ProblemRecord
from monitoring.problems.services import problem_settings_set
from tests.factories import make_person
from tests.monitoring.problem_builders import chat_with
from tests.monitoring.sla_builders import case_store, platform_case

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # Tuesday 10:00 in Los Angeles (shop a1)


def _patch(api, user, conversation_id, body):
    return api.as_user(user).patch(f"/api/v1/conversations/{conversation_id}/", body, format="json")


def test_resolving_records_the_suggested_type_and_the_buyers_words(world, api):
    # Given a buyer who wrote (in Chinese) that the cup arrived broken
    chat = chat_with(world.shop_a1, "pl-c1", "你好", "杯子收到就碎了，怎么办", at=AT)
    # When the agent resolves without choosing
    r = _patch(api, world.agent_a1, chat.id, {"status": "resolved"})
    # Then the record holds the suggestion, and the buyer's words that say it
    assert r.status_code == 200, r.content
    record = ProblemRecord.objects.get(conversation=chat)
    assert (record.issue_type, record.suggested_type, record.set_by_id) == (
        "damaged",
        "damaged",
        None,
    )
    assert record.quote == "杯子收到就碎了，怎么办"
    today_in_la = datetime.now(UTC).astimezone(ZoneInfo("America/Los_Angeles")).date()
    assert record.local_date == today_in_la
    # and it is audited, without the buyer's words
    event = AuditEvent.objects.get(action="problem.recorded")
    assert event.data["issue_type"] == "damaged" and event.data["suggested"] is True
    assert "碎" not in str(event.data)


def test_the_agents_choice_and_sku_win_and_stand_on_a_later_resolve(world, api):
    # Given a conversation about a size
    chat = chat_with(world.shop_a1, "pl-c2", "too small, need a bigger size", at=AT)
    # When the agent resolves choosing "colour" and an SKU
    r = _patch(
        api, world.agent_a1, chat.id, {"status": "resolved", "issue_type": "colour", "sku": "MUG-9"}
    )
    assert r.status_code == 200, r.content
    record = ProblemRecord.objects.get(conversation=chat)
    assert (record.issue_type, record.suggested_type, record.sku) == ("colour", "size", "MUG-9")
    assert record.set_by_id == world.agent_a1.pk
    # When the buyer writes again and it is resolved without a choice
    chat_with(world.shop_a1, "pl-c2", "thanks", at=AT)
    r = _patch(api, world.agent_a1, chat.id, {"status": "resolved"})
    # Then the person's choice stands (one record per conversation)
    assert r.status_code == 200
    record = ProblemRecord.objects.get(conversation=chat)
    assert (record.issue_type, record.sku) == ("colour", "MUG-9")


def test_a_required_type_refuses_a_resolve_without_one_and_loses_nothing(world, api):
    # Given a supervisor who made the issue type required
    problem_settings_set(actor=world.supervisor_a, require_issue_type=True)
    chat = chat_with(world.shop_a1, "pl-c3", "where is my order", at=AT)
    # When the agent resolves without a type
    r = _patch(api, world.agent_a1, chat.id, {"status": "resolved"})
    # Then a 400 says why, and the conversation is still open, with no record
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "issue_type_required"
    assert r.json()["error"]["message"] == "Choose an issue type to resolve this conversation."
    # ... in the agent's language, which the inbox shows as it is
    r = api.as_user(world.agent_a1).patch(
        f"/api/v1/conversations/{chat.id}/",
        {"status": "resolved"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "请先选择问题类型，再解决此会话。"
    chat.refresh_from_db()
    assert chat.status == "open"
    assert not ProblemRecord.objects.filter(conversation=chat).exists()
    # When they choose one, it resolves
    r = _patch(api, world.agent_a1, chat.id, {"status": "resolved", "issue_type": "late"})
    assert r.status_code == 200
    chat.refresh_from_db()
    assert chat.status == "resolved"
    # and another organisation is not bound by org A's setting
    other = chat_with(world.shop_b1, "pl-c3b", "hello", at=AT)
    assert _patch(api, world.agent_b, other.id, {"status": "resolved"}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"status": "resolved", "issue_type": "exploded"},
        {"status": "resolved", "issue_type": "damaged", "sku": "x" * 129},
        {"status": "open", "issue_type": "damaged"},
        {"issue_type": "damaged"},
    ],
)
def test_bad_choices_are_a_400_and_change_nothing(world, api, body):
    chat = chat_with(world.shop_a1, "pl-c4", "broken", at=AT)
    r = _patch(api, world.agent_a1, chat.id, body)
    assert r.status_code == 400, r.content
    chat.refresh_from_db()
    assert chat.status == "open"
    assert not ProblemRecord.objects.exists()


def test_another_shops_agent_gets_404_and_no_record(world, api):
    chat = chat_with(world.shop_a1, "pl-c5", "broken", at=AT)
    r = _patch(api, world.agent_a2, chat.id, {"status": "resolved", "issue_type": "damaged"})
    assert r.status_code == 404
    assert not ProblemRecord.objects.exists()


def test_bulk_resolve_records_each_conversation(world):
    a = chat_with(world.shop_a1, "pl-b1", "the colour is wrong", at=AT)
    b = chat_with(world.shop_a1, "pl-b2", "still not received", at=AT)
    work.conversations_bulk_resolve(actor=world.agent_a1, conversation_ids=[a.id, b.id])
    got = dict(ProblemRecord.objects.values_list("conversation_id", "issue_type"))
    assert got == {a.id: "colour", b.id: "late"}


def test_a_closed_case_gets_its_record_from_the_reason_and_its_lines(world):
    # Given a refund request for a damaged item, SKU on its line
    line = AfterSalesLine(
        line_item_id="l1",
        order_line_item_id="ol1",
        sku_id="1729",
        sku_name="Blue / L",
        product_name="Mug",
        seller_sku="MUG-BLUE",
        image_url="",
        refund_total="19.99",
        currency="USD",
    )
    pending = platform_case(AT, lines=(line,), reason_text="Arrived broken")
    case_store(world.shop_a1, pending)
    assert not ProblemRecord.objects.exists()  # not closed yet
    # When the platform closes it
    closed = dataclasses.replace(
        pending, status="RETURN_OR_REFUND_REQUEST_COMPLETE", update_time=AT.replace(hour=20)
    )
    row = case_store(world.shop_a1, closed)
    # Then it has its record: damaged, the seller's SKU, the buyer's reason as the quote
    record = ProblemRecord.objects.get(case=row)
    assert (record.source, record.issue_type, record.sku, record.quote) == (
        "case",
        "damaged",
        "MUG-BLUE",
        "Arrived broken",
    )


def test_the_quote_is_encrypted_at_rest(world, api):
    # Given a resolved conversation with the buyer's words
    words = "The handle snapped off, totally broken"
    chat = chat_with(world.shop_a1, "pl-c6", words, at=AT)
    assert _patch(api, world.agent_a1, chat.id, {"status": "resolved"}).status_code == 200
    # When the table is read with raw SQL
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT quote FROM {ProblemRecord._meta.db_table}")  # noqa: S608
        (raw,) = cursor.fetchone()
    # Then there is no plaintext, while the model reads it back
    assert "broken" not in raw and "handle" not in raw and raw
    assert ProblemRecord.objects.get().quote == words


def test_the_suggestion_endpoint_and_correcting_a_record(world, api):
    chat = chat_with(world.shop_a1, "pl-c7", "颜色不对", at=AT)
    r = api.as_user(world.agent_a1).get(
        f"/api/v1/monitoring/problems/suggest/?conversation={chat.id}"
    )
    assert r.status_code == 200
    assert r.json() == {"issue_type": "colour", "skus": [], "required": False}
    # another shop's agent: 404
    r = api.as_user(world.agent_a2).get(
        f"/api/v1/monitoring/problems/suggest/?conversation={chat.id}"
    )
    assert r.status_code == 404
    _patch(api, world.agent_a1, chat.id, {"status": "resolved"})
    record = ProblemRecord.objects.get()
    r = api.as_user(world.agent_a1).patch(
        f"/api/v1/monitoring/problems/{record.id}/", {"issue_type": "size"}, format="json"
    )
    assert r.status_code == 200 and r.json()["issue_type"] == "size"
    for outsider in (world.agent_a2, world.agent_b, world.supervisor_b):
        r = api.as_user(outsider).patch(
            f"/api/v1/monitoring/problems/{record.id}/", {"issue_type": "late"}, format="json"
        )
        assert r.status_code == 404
    record.refresh_from_db()
    assert record.issue_type == "size"


def test_the_sku_comes_from_the_conversations_case(world, api):
    # Given a chat whose after-sales case lists the seller SKU "LAMP-2"
    chat = chat_with(world.shop_a1, "pl-c8", "the lamp is cracked", at=AT)
    line = AfterSalesLine(
        line_item_id="l2",
        order_line_item_id="ol2",
        sku_id="2048",
        sku_name="White",
        product_name="Lamp",
        seller_sku="LAMP-2",
        image_url="",
        refund_total="9.99",
        currency="USD",
    )
    row = case_store(world.shop_a1, platform_case(AT, case_id="4036000000000077", lines=(line,)))
    AfterSalesCase.objects.filter(id=row.id).update(conversation=chat)
    # When it is resolved without a choice
    assert _patch(api, world.agent_a1, chat.id, {"status": "resolved"}).status_code == 200
    # Then the record has the case's SKU, suggested
    record = ProblemRecord.objects.get(conversation=chat)
    assert (record.issue_type, record.sku, record.suggested_sku) == ("damaged", "LAMP-2", "LAMP-2")


def test_words_that_cannot_be_decrypted_never_stop_a_resolve(world, api):
    # Given a buyer message whose ciphertext was copied from another row (undecryptable here)
    chat = chat_with(world.shop_a1, "pl-c9", "first words", "broken words", at=AT)
    first, second = Message.objects.filter(conversation=chat).order_by("id")
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text FROM {table} WHERE id = %s", [first.id])  # noqa: S608
        token = cursor.fetchone()[0]
        cursor.execute(f"UPDATE {table} SET text = %s WHERE id = %s", [token, second.id])  # noqa: S608
    # When the agent resolves it, then it resolves, recorded as "other" without a quote
    assert _patch(api, world.agent_a1, chat.id, {"status": "resolved"}).status_code == 200
    record = ProblemRecord.objects.get(conversation=chat)
    assert (record.issue_type, record.quote) == ("other", "")


def test_a_buyers_erasure_empties_their_quotes_and_keeps_the_counts(world, api):
    # Given a resolved conversation whose buyer wrote their words, and another buyer's
    words = "QXERASEME the lid arrived cracked, call +1 555 010 4821"
    chat = chat_with(world.shop_a1, "pl-c-erase", words, at=AT)
    someone_else = Participant(role="BUYER", im_user_id="im-pl-other", user_id="u-pl-2")
    other = chat_with(
        world.shop_a1, "pl-c-keep", "QXKEEPME the lid arrived cracked", at=AT, buyer=someone_else
    )
    for conversation in (chat, other):
        assert _patch(api, world.agent_a1, conversation.id, {"status": "resolved"}).status_code
    report_url = f"/api/v1/monitoring/problems/weekly/{world.shop_a1.id}/"
    quotes = api.as_user(world.supervisor_a).get(report_url).json()["rows"][0]["quotes"]
    assert any("QXERASEME" in q for q in quotes)
    # When an admin erases the first buyer's data
    admin = make_person(world.org_a, Role.ADMIN, username="admin_erase")
    customer_id = chat.customer_id
    erased = api.as_user(admin).post(
        f"/api/v1/customers/{customer_id}/erase/",
        {"reason": "Buyer's request", "confirm": str(customer_id)},
        format="json",
    )
    assert erased.status_code == 200, erased.content
    assert erased.json()["counts"]["problem_quotes"] == 1
    # Then their words are gone from the record and the report; the other buyer's stay, and
    # both problems are still counted
    record = ProblemRecord.objects.get(conversation=chat)
    assert (record.quote, record.issue_type) == ("", "damaged")
    report = api.as_user(world.supervisor_a).get(report_url).json()
    assert report["total"] == 2
    shown = " ".join(q for row in report["rows"] for q in row["quotes"])
    assert "QXERASEME" not in shown and "4821" not in shown and "QXKEEPME" in shown
