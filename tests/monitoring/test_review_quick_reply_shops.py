"""Review of issue 15: a quick reply moved to a shop whose override blocks a word it holds
cannot be saved, although its body did not change (the unchanged body was not screened)."""

from __future__ import annotations

import pytest

from monitoring.models import Violation
from monitoring.services.words import word_entry_add
from monitoring.words.cache import cache_clear
from templates_app.models import QuickReply

pytestmark = pytest.mark.django_db

BASE = "/api/v1/templates/"


@pytest.fixture(autouse=True)
def words(world):
    """Shop a2's override blocks "zorblax"; the organisation's list does not."""
    cache_clear()
    word_entry_add(
        actor=world.supervisor_a,
        shop_account_id=world.shop_a2.id,
        word="zorblax",
        category="custom",
        action="block",
    )
    yield
    cache_clear()


def test_a_quick_reply_given_a_shop_that_blocks_its_words_is_refused(api, world):
    # Given a team quick reply of shop a1 that says a word only shop a2 blocks
    client = api.as_user(world.supervisor_a)
    created = client.post(
        BASE,
        {
            "title": "T",
            "shortcut": "t1",
            "body": "Try zorblax today",
            "scope": "team",
            "shop_account_ids": [world.shop_a1.id],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    # When it is given shop a2 too, its body unchanged
    response = client.patch(
        f"{BASE}{pk}/", {"shop_account_ids": [world.shop_a1.id, world.shop_a2.id]}, format="json"
    )
    # Then it is refused as blocked, the quick reply kept for shop a1 only, the violation kept
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "reply_blocked"
    quick_reply = QuickReply.objects.get(id=pk)
    assert sorted(quick_reply.shop_accounts.values_list("id", flat=True)) == [world.shop_a1.id]
    violation = Violation.objects.get(action="block")
    assert (violation.source, violation.shop_account_id) == ("quick_reply", world.shop_a2.id)
