"""A person appears under one name everywhere: their display name (Member.display_name), their
login only when they have none (issue 11)."""

from __future__ import annotations

import pytest
from django.db import connection

from inbox.models import InboxEvent, Member
from inbox.services.conversations import conversation_assign, note_add
from tests.inbox.builders import conversation_with_messages, pending_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def li_na(world):
    """agent_a1, whose login is agent_a1 and whose name is Li Na."""
    Member.objects.filter(user=world.agent_a1).update(display_name="Li Na")
    world.agent_a1.refresh_from_db()
    return world.agent_a1


@pytest.fixture
def worked(world, li_na):
    """A conversation of shop a1 assigned to Li Na, with her reply and her note."""
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    conversation_assign(actor=li_na, conversation_id=conversation.id, assignee_id=li_na.pk)
    pending_reply(conversation, "It ships today.", key="k-1", author=li_na)
    note_add(actor=li_na, conversation_id=conversation.id, text="Checked the warehouse.")
    return conversation


def test_the_pages_show_the_display_name_never_the_login(client, world, worked):
    # Given a supervisor (a colleague, so no "You" stands in for the name)
    client.force_login(world.supervisor_a)
    # When the supervisor reads the queue row, the header, the timeline and the team page
    pages = {
        "row": client.get(f"/inbox/queue/{worked.id}/"),
        "header": client.get(f"/inbox/c/{worked.id}/header/"),
        "timeline": client.get(f"/inbox/c/{worked.id}/timeline/"),
        "team": client.get("/inbox/team/"),
        "workspace": client.get(f"/inbox/c/{worked.id}/"),
    }
    # Then each names Li Na, and none shows her login as a name
    for where, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, where
        assert "Li Na" in html, where
        assert ">agent_a1<" not in html and "to agent_a1" not in html, where
    assert "Assigned to Li Na" in pages["header"].content.decode()


def test_the_top_bar_names_the_signed_in_person(client, li_na):
    client.force_login(li_na)
    html = client.get("/inbox/").content.decode()
    assert '<span class="who">Li Na</span>' in html


def test_the_api_and_the_events_carry_the_name_beside_the_login(client, world, worked, li_na):
    client.force_login(world.supervisor_a)
    # When the API shows the conversation, its messages and its notes
    detail = client.get(f"/api/v1/conversations/{worked.id}/").json()
    messages = client.get(f"/api/v1/conversations/{worked.id}/messages/").json()["results"]
    person = {"id": li_na.pk, "username": "agent_a1", "name": "Li Na"}
    # Then every person in them has the name to show, and the login as an identifier
    assert detail["assignee"] == person
    assert detail["notes"][0]["author"] == person
    assert [m["author"] for m in messages if m["direction"] == "out"] == [person]
    # And so do the real-time events the inbox received
    assigned = InboxEvent.objects.filter(type="conversation.updated").order_by("id").last()
    noted = InboxEvent.objects.get(type="note.created")
    assert assigned.data["assignee"] == person
    assert noted.data["author"] == person


def test_a_person_without_a_display_name_is_shown_by_login(client, world):
    conversation = conversation_with_messages(world.shop_a1)
    conversation_assign(
        actor=world.agent_a1, conversation_id=conversation.id, assignee_id=world.agent_a1.pk
    )
    client.force_login(world.supervisor_a)
    detail = client.get(f"/api/v1/conversations/{conversation.id}/").json()
    assert detail["assignee"]["name"] == "agent_a1"
    header = client.get(f"/inbox/c/{conversation.id}/header/").content.decode()
    assert "Assigned to agent_a1" in header


def test_the_queue_shows_names_in_a_fixed_number_of_queries(
    client, world, li_na, django_assert_max_num_queries
):
    # Given many conversations assigned to different people
    for i in range(6):
        c = conversation_with_messages(world.shop_a1, buyer=f"Buyer {i}")
        who = li_na if i % 2 else world.supervisor_a
        conversation_assign(actor=who, conversation_id=c.id, assignee_id=who.pk)
    client.force_login(world.supervisor_a)
    client.get("/inbox/queue/")
    # Then the queue's names come with the rows, not one query per person
    # 8 on PostgreSQL; SQLite cannot slice inside a UNION, so the page's two case sources and
    # its per-shop case scans are read one query each there.
    budget = 8 if connection.features.supports_slicing_ordering_in_compound else 10
    with django_assert_max_num_queries(budget):
        html = client.get("/inbox/queue/").content.decode()
    assert html.count("Li Na") == 3
