"""A buyer's erasure: no trace of their seeded values in any table (raw SQL over every table,
and every model read and decrypted), the conversations and cases still counted, audited, the
audit chain still verifying, and a buyer who writes again starts a new profile."""

from __future__ import annotations

import json
import time

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from inbox.models import (
    AfterSalesCase,
    Conversation,
    Customer,
    InboxEvent,
    Message,
    OutboxAction,
)
from monitoring.audit_chain.sealer import seal_organisation
from monitoring.models import AuditEvent
from tests.inbox import buyer_data_builders as b

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Buyer's request, ticket 88"


def _erase(api, user, customer_id, **body):
    payload = {"reason": REASON, "confirm": str(customer_id), **body}
    return api.as_user(user).post(f"/api/v1/customers/{customer_id}/erase/", payload, format="json")


def _raw_rows() -> list[tuple[str, str]]:
    """Every row of every table, as the database stores it (table, text of the row)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            found += [(table, " ".join(str(v) for v in row)) for row in cursor.fetchall()]
    return found


def _decrypted_rows() -> list[tuple[str, str]]:
    """Every row of every model, read through the model (encrypted fields decrypted)."""
    found = []
    for model in apps.get_models():
        for obj in model._default_manager.all():
            values = [getattr(obj, f.attname) for f in model._meta.concrete_fields]
            found.append((model._meta.label, json.dumps(values, default=str, ensure_ascii=False)))
    return found


def _traces(values: list[str]) -> list[tuple[str, str]]:
    hits = []
    for table, text in _raw_rows() + _decrypted_rows():
        lowered = text.lower()
        hits += [(table, v) for v in values if v.lower() in lowered]
    return hits


def test_erasure_leaves_no_trace_and_keeps_the_counts(world, platform, api, admin):
    # Given a buyer's traffic through the real paths, all of it findable before
    seeded = b.seed_buyer(world, platform, api)
    assert {v for _, v in _traces(seeded.values)} == set(seeded.values)
    # and another buyer of the same shop, in another organisation's shop too
    others = ["Tobiah QXKEEPNAME", "QXKEEPTEXT", "Vesna QXKEEPOTHERORG"]
    for shop, buyer, nickname in (
        (world.shop_a1, "7494000000099001", others[0]),
        (world.shop_b1, "7494000000099002", others[2]),
    ):
        platform.sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=buyer, nickname=nickname, text=others[1]
        )
    platform.sim.deliver_webhooks()
    messages = Message.objects.filter(conversation=seeded.conversation).count()
    # When an admin erases their data
    response = _erase(api, admin, seeded.customer.id)
    # Then the answer counts what was wiped
    assert response.status_code == 200, response.content
    counts = response.json()["counts"]
    assert counts["messages"] == messages and counts["conversations"] == 1
    assert counts["webhook_events"] >= 1 and counts["events"] >= 1
    # And no table holds any of their values, stored or decrypted
    assert _traces(seeded.values) == []
    # while the other buyers' data is all there
    assert {v for _, v in _traces(others)} == set(others)
    # While the conversation and the case stay, counted, under tombstones
    conversation = Conversation.objects.get(pk=seeded.conversation.pk)
    assert conversation.platform_conversation_id == f"erased:{conversation.pk}"
    assert conversation.last_buyer_message_at is not None
    assert Message.objects.filter(conversation=conversation).count() == messages
    assert AfterSalesCase.objects.filter(pk=seeded.case.pk, customer=seeded.customer).exists()
    customer = Customer.objects.get(pk=seeded.customer.pk)
    assert customer.erased_at is not None
    # And open screens are told: the row as it now is, nameless and without a preview
    told = InboxEvent.objects.filter(type="conversation.updated").latest("id").data
    assert (told["id"], told["customer"]["name"], told["last_message_preview"]) == (
        conversation.pk,
        "",
        "",
    )
    assert customer.im_user_id == f"erased:{customer.pk}"
    # And the erasure is audited with counts, never a value; the chain still verifies
    event = AuditEvent.objects.get(action="customer.erased")
    assert (event.actor_id, event.target_id) == (admin.id, str(customer.pk))
    assert event.data["counts"] == counts and event.data["reason"] == REASON
    seal_organisation(world.org_a.id)
    call_command("audit_verify")  # raises CommandError when the chain is broken
    # And nothing is left to send on their behalf
    assert not OutboxAction.objects.filter(
        conversation=conversation, state__in=["pending", "sending"]
    ).exists()


def test_a_buyer_who_writes_again_starts_a_new_profile(world, platform, api, admin):
    seeded = b.seed_buyer(world, platform, api)
    assert _erase(api, admin, seeded.customer.id).status_code == 200
    # When the same buyer writes to the shop again
    platform.sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id=b.BUYER_USER_ID,
        nickname=b.NICKNAME,
        text="Hello again",
        at=int(time.time()),
    )
    platform.sim.deliver_webhooks()
    # Then a new conversation of a new profile holds it; the erased one stays empty
    fresh = Message.objects.exclude(conversation=seeded.conversation).get(direction="in")
    assert fresh.text == "Hello again"
    new_customer = fresh.conversation.customer
    assert new_customer.pk != seeded.customer.pk
    assert (new_customer.display_name, new_customer.erased_at) == (b.NICKNAME, None)
    old = Customer.objects.get(pk=seeded.customer.pk)
    assert (old.display_name, old.phone) == ("", "")
    old_texts = [m.text for m in Message.objects.filter(conversation=seeded.conversation)]
    assert set(old_texts) == {""}


def test_a_buyer_who_writes_more_than_a_page_again_has_only_the_new_messages(
    world, platform, api, admin
):
    seeded = b.seed_buyer(world, platform, api)
    old_ids = set(Message.objects.values_list("platform_message_id", flat=True))
    assert _erase(api, admin, seeded.customer.id).status_code == 200
    # When the same buyer writes twelve messages (more than the platform's page of ten) to the
    # shop again, in the same platform conversation
    for n in range(12):
        platform.sim.buyer_message(
            world.shop_a1.platform_shop_id,
            buyer_user_id=b.BUYER_USER_ID,
            nickname=b.NICKNAME,
            text=f"Hello again {n}",
            at=int(time.time()),
        )
    platform.sim.deliver_webhooks()
    # Then a new conversation holds the twelve, once each, and none of the erased ones
    fresh = Message.objects.exclude(conversation=seeded.conversation).filter(direction="in")
    assert sorted(m.text for m in fresh) == sorted(f"Hello again {n}" for n in range(12))
    assert not {m.platform_message_id for m in fresh} & old_ids
    assert len({m.conversation_id for m in fresh}) == 1


def test_bad_input_and_refusals_change_nothing(world, platform, api, admin):
    seeded = b.seed_buyer(world, platform, api)
    cid = seeded.customer.id

    def untouched() -> bool:
        customer = Customer.objects.get(pk=cid)
        return customer.erased_at is None and customer.display_name == b.NICKNAME

    # No reason, a blank one, a wrong or missing confirmation: 400, nothing erased
    for body, code in (
        ({"reason": ""}, "reason_required"),
        ({"reason": "  "}, "reason_required"),
        ({"confirm": str(cid + 1)}, "confirmation_mismatch"),
        ({"confirm": ""}, "confirmation_mismatch"),
    ):
        response = _erase(api, admin, cid, **body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == code
        assert untouched()
    response = api.as_user(admin).post(f"/api/v1/customers/{cid}/erase/", {}, format="json")
    assert response.status_code == 400 and untouched()
    # A supervisor and an agent of the shop are refused; others do not find the buyer
    assert _erase(api, world.supervisor_a, cid).status_code == 403
    assert _erase(api, world.agent_a1, cid).status_code == 403
    assert _erase(api, world.agent_a2, cid).status_code == 404
    assert _erase(api, world.supervisor_b, cid).status_code == 404
    assert untouched()
    assert not AuditEvent.objects.filter(action="customer.erased").exists()
    # Erased once, then refused
    assert _erase(api, admin, cid).status_code == 200
    again = _erase(api, admin, cid)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_erased"
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1


def test_the_page_erases_with_a_typed_confirmation(world, platform, api, admin, client):
    seeded = b.seed_buyer(world, platform, api)
    cid = seeded.customer.id
    client.force_login(admin)
    url = f"/customers/{cid}/data/"
    wrong = client.post(url, {"reason": REASON, "confirm": "nope"})
    assert wrong.status_code == 400
    assert "Type the customer&#x27;s id" in wrong.content.decode()
    assert Customer.objects.get(pk=cid).erased_at is None
    done = client.post(url, {"reason": REASON, "confirm": str(cid)}, follow=True)
    assert done.status_code == 200
    html = done.content.decode()
    assert 'id="erased-state"' in html and b.NICKNAME not in html
    assert 'id="erase-submit"' not in html
    # A supervisor posting the form is refused
    client.force_login(world.supervisor_a)
    assert client.post(url, {"reason": REASON, "confirm": str(cid)}).status_code == 403
