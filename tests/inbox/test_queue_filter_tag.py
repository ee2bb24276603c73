"""The queue filtered by a tag: conversations carrying it and the cases whose conversation
carries it, of the viewer's shops only; a tag of the same name in another organisation, or an
unknown tag, finds nothing of theirs."""

from __future__ import annotations

import pytest

from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db


def rows(response):
    assert response.status_code == 200, response.content
    return {
        (r["type"], (r.get("conversation") or r.get("case"))["id"])
        for r in response.json()["results"]
    }


def test_a_tag_finds_its_conversations_and_their_cases_and_nothing_else(world, api):
    # Given in shop a1 a tagged conversation with a case, an untagged one with a case, and in
    # organisation B a conversation under a tag of the same name
    tagged = conversation_with_messages(world.shop_a1)
    tagged.tags.create(organisation=world.org_a, name="refund")
    plain = conversation_with_messages(world.shop_a1)
    other_tag = conversation_with_messages(world.shop_a1)
    other_tag.tags.create(organisation=world.org_a, name="vip")
    tagged_case = case_needing_decision(world.shop_a1, conversation=tagged)
    case_needing_decision(world.shop_a1, conversation=plain)
    theirs = conversation_with_messages(world.shop_b1)
    theirs.tags.create(organisation=world.org_b, name="refund")
    agent = api.as_user(world.agent_a1)
    # When agent_a1 filters the one queue and the conversations by the tag
    # Then exactly the tagged conversation and its case
    assert rows(agent.get("/api/v1/queue/?tag=refund")) == {
        ("conversation", tagged.id),
        ("case", tagged_case.id),
    }
    listed = agent.get("/api/v1/conversations/?tag=refund").json()["results"]
    assert [c["id"] for c in listed] == [tagged.id]
    # Another organisation's agent sees only their own under the same name
    assert rows(api.as_user(world.agent_b).get("/api/v1/queue/?tag=refund")) == {
        ("conversation", theirs.id)
    }
    # An unknown tag is an empty queue, not an error
    assert rows(agent.get("/api/v1/queue/?tag=nothing-like-it")) == set()
