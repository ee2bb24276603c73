"""At rest: after traffic through the real paths (simulator webhooks, replies, orders read
from the platform, a return with a decision, notes, follow-ups, a violation, profile details,
a resolve that keeps the buyer's words in the problem log),
no table holds any personal value or buyer message text in plaintext; and a ciphertext copied
to another row or column fails to decrypt, with a clear error rather than a crash."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inbox.models import AfterSalesCase, Conversation, Message, Note
from inbox.services.conversations import note_add
from inbox.services.orders import orders_for
from inbox.services.profiles.followups import follow_up_create
from inbox.services.profiles.notes import customer_note_add
from inbox.services.profiles.update import customer_update
from inbox.services.search_tokens import customer_tokens_write
from monitoring.models.problems import ProblemRecord
from monitoring.services.violations import violation_record
from scrm.blind import org_index_for
from scrm.crypto import DecryptionError
from scrm.fields import Sealed
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = "7494000000077001"
NICKNAME = "Oriane Vasquez-Thornbury"
TEXTS = (
    "My parcel QXRUSTPELICAN never arrived, call me",
    "我的订单琥珀麒麟还没有到",
    "Email me at oriane.v@example.net please",
)
REPLY = "We reshipped QXSLATEBADGER this morning"
NOTE = "Buyer QXOCHREMARMOT sounded upset"
PROFILE_NOTE = "Calls only after QXPLUMHERON"
PROMISE = "Refund the QXJADEKESTREL shipping fee"
RETURN_REASON = "Box QXIVORYJACKAL was soaked"
COMMENT = "Refund QXCOPPERNEWT approved"
VIOLATION = "pay me on QXBRONZEIBIS directly"
PHONE, PHONE_DIGITS = "+44 20 7946 0321", "442079460321"
EMAIL = "oriane.vt@example.org"
REAL_NAME = "Oriane Thornbury"


@dataclass
class Seeded:
    conversation: Conversation
    values: list[str]


def _seed(world, platform, api) -> Seeded:
    shop, sim, agent = world.shop_a1, platform.sim, world.agent_a1
    now = int(time.time())
    for i, text in enumerate(TEXTS):
        conversation_id, _ = sim.buyer_message(
            shop.platform_shop_id,
            buyer_user_id=BUYER,
            nickname=NICKNAME,
            text=text,
            at=now - 60 + i,
        )
    assert sim.deliver_webhooks()["sent"]
    conversation = Conversation.objects.get(
        shop_account=shop, platform_conversation_id=conversation_id
    )
    response = api.as_user(agent).post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": REPLY, "idempotency_key": "at-rest-1"},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    note_add(actor=agent, conversation_id=conversation.id, text=NOTE)
    order_id = sim.order_create(shop.platform_shop_id, buyer_user_id=BUYER, status="DELIVERED")
    customer = conversation.customer
    order = orders_for(shop=shop, order_ids=[order_id], chat_customer=customer)[order_id]
    return_id = sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id=order_id, reason_text=RETURN_REASON
    )
    sim.deliver_webhooks()
    case = AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)
    response = api.as_user(agent).post(
        f"/api/v1/after-sales/{case.id}/approve/",
        {"decision": "APPROVE_REFUND", "comment": COMMENT, "idempotency_key": "at-rest-2"},
        format="json",
    )
    assert response.status_code in (200, 201, 202), response.content
    # The profile through its services (phone, e-mail, a note, a follow-up); the real name and
    # a custom value as an order import and a custom field would leave them.
    customer_update(actor=agent, customer_id=customer.id, changes={"phone": PHONE, "email": EMAIL})
    customer.refresh_from_db()
    customer.real_name, customer.custom_fields = REAL_NAME, {"tier": "QXGOLDENOKAPI"}
    customer.save(update_fields=["real_name", "custom_fields"])
    customer_tokens_write(customer, org_index_for(customer.organisation_id))
    customer_note_add(actor=agent, customer_id=customer.id, text=PROFILE_NOTE)
    follow_up_create(
        actor=agent,
        customer_id=customer.id,
        promise=PROMISE,
        due_at=timezone.now() + timedelta(days=1),
        conversation_id=conversation.id,
    )
    violation_record(
        organisation_id=customer.organisation_id,
        shop_account_id=shop.id,
        conversation_id=conversation.id,
        actor=agent,
        source="reply",
        action="flag",
        text=VIOLATION,
        matches=[],
    )
    # Resolved: the problem log keeps the buyer's words as its quote (issue 17)
    response = api.as_user(agent).patch(
        f"/api/v1/conversations/{conversation.id}/", {"status": "resolved"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert ProblemRecord.objects.get(conversation=conversation).quote in TEXTS
    order.refresh_from_db()
    address = json.loads(order.recipient_address)
    recipient = [order.recipient_name, order.recipient_phone, address["full_address"]]
    assert all(recipient), recipient
    values = [
        NICKNAME,
        *TEXTS,
        "QXRUSTPELICAN",
        "琥珀麒麟",
        "oriane.v@example.net",
        REPLY,
        NOTE,
        PROFILE_NOTE,
        PROMISE,
        RETURN_REASON,
        COMMENT,
        VIOLATION,
        PHONE,
        PHONE_DIGITS,
        EMAIL,
        REAL_NAME,
        "QXGOLDENOKAPI",
        *recipient,
        *([order.recipient_email] if order.recipient_email else []),
    ]
    return Seeded(conversation=conversation, values=values)


def _forms(value: str) -> set[str]:
    """How a value could sit in a column: as is, lower-cased, escaped inside JSON (ASCII-only
    escapes for Chinese too)."""
    forms = {value, value.lower(), json.dumps(value)[1:-1], json.dumps(value.lower())[1:-1]}
    return {f for f in forms if len(f) >= 4}


def _cell_text(cell: object) -> str:
    if isinstance(cell, memoryview | bytes):
        return bytes(cell).decode("utf-8", "replace")
    if isinstance(cell, dict | list):
        return json.dumps(cell, ensure_ascii=False) + json.dumps(cell)
    return str(cell)


def _plaintext_found(values: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for each value found in plaintext anywhere in the database."""
    forms = {v: _forms(v) for v in values}
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for column, cell in zip(columns, row, strict=True):
                    if cell is None:
                        continue
                    text = _cell_text(cell)
                    lowered = text.lower()
                    for value, variants in forms.items():
                        if any(f in text or f.lower() in lowered for f in variants):
                            found.append((table, column, value))
    return sorted(set(found))


def test_no_personal_value_or_buyer_text_in_any_table(world, platform, api):
    # Given a buyer's traffic through every path that stores personal data
    seeded = _seed(world, platform, api)
    # ... which the product reads back (so the values really were stored)
    texts = set(
        Message.objects.filter(conversation=seeded.conversation).values_list("id", flat=True)
    )
    assert len(texts) == 4
    assert {m.text for m in Message.objects.filter(conversation=seeded.conversation)} >= set(TEXTS)

    # When every column of every table is read raw
    found = _plaintext_found(seeded.values)

    # Then none holds any of the values
    assert found == []


def _copy(table: str, column: str, from_id: int, to_table: str, to_column: str, to_id: int):
    with connection.cursor() as cursor:
        q = connection.ops.quote_name
        cursor.execute(f"SELECT {q(column)} FROM {q(table)} WHERE id = %s", [from_id])  # noqa: S608
        token = cursor.fetchone()[0]
        cursor.execute(
            f"UPDATE {q(to_table)} SET {q(to_column)} = %s WHERE id = %s",  # noqa: S608
            [token, to_id],
        )
    return token


@pytest.mark.django_db(transaction=False)
def test_a_ciphertext_copied_elsewhere_fails_to_decrypt_and_pages_say_so(
    world, api, client, caplog
):
    # Given two buyer messages and a note, each readable
    conversation = conversation_with_messages(
        world.shop_a1, buyer="Ines Marchetti", texts=("first QXSECRETONE", "second QXSECRETTWO")
    )
    first, second = Message.objects.filter(conversation=conversation).order_by("id")
    note = Note.objects.create(conversation=conversation, text="note QXSECRETNOTE")

    # When the first message's ciphertext is copied over the second's (another row), and over
    # the note (another table and column)
    token = _copy("inbox_message", "text", first.id, "inbox_message", "text", second.id)
    _copy("inbox_message", "text", first.id, "inbox_note", "text", note.id)

    # Then neither copy decrypts where it now is; the original still does
    field = Message._meta.get_field("text")
    with pytest.raises(DecryptionError):
        field.open(Sealed(token), second.row_uid)
    with pytest.raises(DecryptionError):
        Note._meta.get_field("text").open(Sealed(token), note.row_uid)
    assert field.open(Sealed(token), first.row_uid) == "first QXSECRETONE"

    # ... and the agent's API and page answer (no server error): the moved values show as
    # "could not be decrypted", the rest as usual, and the log names the rows, not the values
    agent = world.agent_a1
    response = api.as_user(agent).get(f"/api/v1/conversations/{conversation.id}/messages/")
    assert response.status_code == 200
    texts = {row["id"]: row["text"] for row in response.json()["results"]}
    assert texts == {first.id: "first QXSECRETONE", second.id: "[could not be decrypted]"}
    client.force_login(agent)
    page = client.get(f"/inbox/c/{conversation.id}/")
    assert page.status_code == 200
    assert "[could not be decrypted]" in page.content.decode()
    logged = [r.getMessage() for r in caplog.records if r.name == "scrm.fields"]
    assert any(f"inbox.message.text of row {second.id}" in m for m in logged)
    assert not any("QXSECRET" in m or token in m for m in logged)

    # ... and saving the row keeps its stored value (nothing overwritten with the marker)
    reread = Message.objects.get(pk=second.pk)
    _ = reread.text
    reread.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM inbox_message WHERE id = %s", [second.id])
        assert cursor.fetchone()[0] == token
