"""``scrm.db.insert_unless_conflict``: the one-statement insert ingestion and the metric facts
use instead of a savepoint around ``create`` (issue 18)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox.models import Conversation, Customer
from monitoring.models.metrics import ResponseFact
from scrm.db import insert_unless_conflict
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

OPEN_FACT = "uniq_open_fact_conversation"


def _buyer(world, im_user_id: str, name: str) -> Customer:
    return Customer(
        organisation_id=world.org_a.id,
        platform="tiktok_shop",
        im_user_id=im_user_id,
        platform_user_id="u-1",
        display_name=name,
    )


def test_a_new_row_is_inserted_with_its_defaults_and_sealed_fields(world):
    buyer = _buyer(world, "im-new", "Mia K.")
    assert insert_unless_conflict(buyer, constraint="uniq_customer") is True
    assert buyer.pk is not None and not buyer._state.adding
    stored = Customer.objects.get(pk=buyer.pk)
    assert stored.display_name == "Mia K."  # encrypted for its row, and opens
    assert stored.row_uid == buyer.row_uid
    assert stored.created_at is not None  # auto_now_add, as create() sets it


def test_a_conflict_writes_nothing_and_leaves_the_transaction_usable(world):
    first = _buyer(world, "im-twice", "First")
    assert insert_unless_conflict(first, constraint="uniq_customer")
    with transaction.atomic():
        second = _buyer(world, "im-twice", "Second")
        assert insert_unless_conflict(second, constraint="uniq_customer") is False
        assert second.pk is None
        # the transaction goes on (a failed INSERT without a savepoint would have aborted it)
        assert Customer.objects.filter(im_user_id="im-twice").count() == 1
    assert Customer.objects.get(im_user_id="im-twice").display_name == "First"


def test_a_partial_unique_index_is_a_conflict_too(world):
    conversation = conversation_with_messages(world.shop_a1)
    ResponseFact.objects.filter(conversation=conversation).delete()

    def fact() -> ResponseFact:
        return ResponseFact(
            organisation_id=world.org_a.id,
            shop_account=world.shop_a1,
            subject="chat",
            conversation=conversation,
            received_at=timezone.now(),
            local_date=timezone.now().date(),
        )

    assert insert_unless_conflict(fact(), constraint=OPEN_FACT) is True
    assert (
        insert_unless_conflict(fact(), constraint=OPEN_FACT) is False
    )  # one open request a conversation
    assert ResponseFact.objects.filter(conversation=conversation).count() == 1


def test_other_integrity_errors_still_raise(world):
    conversation = Conversation(
        organisation_id=world.org_a.id,
        shop_account_id=world.shop_a1.id,
        customer=conversation_with_messages(world.shop_a1).customer,
        platform_conversation_id=None,  # NOT NULL
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_unless_conflict(conversation, constraint="uniq_conversation")


def test_expressions_an_explicit_id_and_an_unknown_constraint_are_refused(world):
    from django.db.models import F

    buyer = _buyer(world, "im-expr", "Mia")
    buyer.platform = F("platform")
    with pytest.raises(TypeError, match="expression"):
        insert_unless_conflict(buyer, constraint="uniq_customer")
    buyer = _buyer(world, "im-id", "Mia")
    buyer.pk = 424242
    with pytest.raises(ValueError, match="primary key"):
        insert_unless_conflict(buyer, constraint="uniq_customer")
    with pytest.raises(ValueError, match="no unique constraint"):
        insert_unless_conflict(_buyer(world, "im-x", "Mia"), constraint="uniq_nothing")
    assert not Customer.objects.filter(im_user_id__in=["im-expr", "im-id", "im-x"]).exists()
