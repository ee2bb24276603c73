"""``manage.py rotate_keys --index``: each organisation's blind indexes move to the current
index master, and every search finds the same rows before, during and after."""

from __future__ import annotations

import pytest

from inbox.models import Customer, KeyRotation, MessageToken, Organisation
from inbox.selectors.search import message_search
from inbox.services.key_rotation import rotate_indexes
from tests.inbox.builders import conversation_with_messages
from tests.scrm.rotation_world import NEW_INDEX_KEY, answers, seed

pytestmark = pytest.mark.django_db


def _index_state() -> tuple[dict[int, str], set[int]]:
    return (
        dict(Customer.objects.values_list("id", "name_index")),
        set(MessageToken.objects.values_list("token", flat=True)),
    )


def test_index_rotation_keeps_every_search_answering_the_same(world, settings):
    # Given seeded buyers and messages indexed under the key derived from the encryption key
    seeded = seed(world)
    before = answers(seeded)
    names_before, tokens_before = _index_state()
    assert set(Organisation.objects.values_list("index_key_id", flat=True)) == {"e.t1"}

    # When a blind-index master is configured and the indexes rotate in batches of one row,
    # with a buyer writing in the middle of it
    settings.SCRM_BLIND_INDEX_KEYS = NEW_INDEX_KEY
    during: list[dict[str, list[int]]] = []
    written = []

    def each_batch(progress):
        during.append(answers(seeded))
        if not written:
            org = Organisation.objects.get(pk=seeded.organisation_id)
            assert (org.index_key_id, org.index_key_next) == ("e.t1", "ix2")
            written.append(
                conversation_with_messages(world.shop_a1, buyer="Zed", texts=("zebra crossing",))
            )

    moved = rotate_indexes(batch=1, on_batch=each_batch)

    # Then every search found the same rows at every step, and the new message is found
    assert set(moved) == {world.org_a.id, world.org_b.id}
    assert len(during) > 5
    assert all(step == before for step in during)
    assert answers(seeded) == before
    found = message_search(organisation_id=seeded.organisation_id, shops=seeded.shops, term="zebra")
    assert [m.conversation_id for m in found] == [written[0].id]
    # ... every organisation indexes under the new key alone, and the indexes changed
    assert set(Organisation.objects.values_list("index_key_id", "index_key_next")) == {("ix2", "")}
    names_after, tokens_after = _index_state()
    assert all(names_after[pk] != name for pk, name in names_before.items() if name)
    assert not tokens_before & tokens_after
    assert not KeyRotation.objects.filter(kind="index").exists()


def test_a_stopped_index_rotation_still_finds_everything_and_resumes(world, settings):
    # Given seeded data and a new index master
    seeded = seed(world)
    before = answers(seeded)
    settings.SCRM_BLIND_INDEX_KEYS = NEW_INDEX_KEY

    # When the rotation is stopped after its second batch
    calls = []

    def stop(progress):
        calls.append(progress.step)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_indexes(batch=1, on_batch=stop)

    # Then, half-moved, searches still find the same rows (they ask under both keys)
    org = Organisation.objects.get(pk=seeded.organisation_id)
    assert (org.index_key_id, org.index_key_next) == ("e.t1", "ix2")
    state = KeyRotation.objects.get(kind="index", target_kid="ix2", table="customers")
    assert state.rewritten == 2 and state.finished_at is None
    assert answers(seeded) == before

    # When it runs again, it goes on from there and finishes
    rotate_indexes(batch=2)
    org.refresh_from_db()
    assert (org.index_key_id, org.index_key_next) == ("ix2", "")
    assert answers(seeded) == before
