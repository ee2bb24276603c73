"""The web inbox's pages (server side): scope, fragments, query counts, the team overview."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import Message, Note, Role
from inbox.selectors import team_overview
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shop_agent(world):
    return make_person(world.org_a, Role.AGENT, [world.shop_a1, world.shop_a2], username="two")


def test_workspace_merges_the_agents_shops_and_nothing_else(client, world, two_shop_agent):
    # Given conversations in the agent's two shops and in a shop it does not work on
    mine1 = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    mine2 = conversation_with_messages(world.shop_a2, buyer="王芳")
    other = conversation_with_messages(world.shop_a3, buyer="Hidden Buyer")
    client.force_login(two_shop_agent)
    # When the agent opens the inbox
    html = client.get("/inbox/").content.decode()
    # Then both of its shops are in one queue, the other shop's buyer is not
    assert f'id="qrow-{mine1.id}"' in html and f'id="qrow-{mine2.id}"' in html
    assert f'id="qrow-{other.id}"' not in html and "Hidden Buyer" not in html
    assert "Emily R." in html and "王芳" in html


def test_conversation_of_another_shop_is_404_page_and_fragment(client, world):
    other = conversation_with_messages(world.shop_a2)
    client.force_login(world.agent_a1)
    for url in (
        f"/inbox/c/{other.id}/",
        f"/inbox/c/{other.id}/timeline/",
        f"/inbox/c/{other.id}/header/",
        f"/inbox/queue/{other.id}/",
    ):
        assert client.get(url).status_code == 404
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_timeline_hides_hidden_messages_and_shows_notes_apart(client, world):
    conversation = conversation_with_messages(world.shop_a1, texts=("Is it in stock?",))
    Message.objects.create(
        conversation=conversation,
        shop_account=world.shop_a1,
        platform_message_id="hidden-1",
        direction="in",
        sender_role="SYSTEM",
        type="OTHER",
        text="RATING REQUEST SHOULD NOT SHOW",
        is_visible=False,
        sent_at=timezone.now(),
    )
    Note.objects.create(conversation=conversation, author=world.agent_a1, text="VIP buyer")
    client.force_login(world.agent_a1)
    html = client.get(f"/inbox/c/{conversation.id}/timeline/").content.decode()
    assert "Is it in stock?" in html
    assert "RATING REQUEST" not in html
    assert 'class="note"' in html and "VIP buyer" in html


def test_queue_page_queries_do_not_grow_with_rows(client, world, django_assert_max_num_queries):
    for i in range(60):
        conversation_with_messages(world.shop_a1, buyer=f"Buyer {i}")
    for _ in range(10):  # after-sales cases due after every conversation: on the second page
        case_needing_decision(world.shop_a1, due_in=timedelta(days=3))
    client.force_login(world.agent_a1)
    with django_assert_max_num_queries(17):
        response = client.get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="qrow') == 50  # first page
    cursor = re.search(r"/inbox/queue/\?cursor=([0-9.]+)", html)[1]
    # SQLite reads the two case parts apart; one more reads the page's open SLA deadlines
    with django_assert_max_num_queries(11):
        more = client.get(f"/inbox/queue/?cursor={cursor}")
    assert more.content.decode().count('class="qrow') == 10
    assert more.content.decode().count('id="qcase-') == 10


def test_queue_views_filter(client, world):
    mine = conversation_with_messages(world.shop_a1, buyer="Mine Buyer")
    mine.assignee = world.agent_a1
    mine.save()
    late = conversation_with_messages(world.shop_a1, buyer="Late Buyer", waited=timedelta(hours=13))
    client.force_login(world.agent_a1)
    html = client.get("/inbox/queue/?view=mine").content.decode()
    assert f"qrow-{mine.id}" in html and f"qrow-{late.id}" not in html
    html = client.get("/inbox/queue/?view=waiting").content.decode()
    assert f"qrow-{late.id}" in html and f"qrow-{mine.id}" not in html
    html = client.get("/inbox/queue/?view=unassigned").content.decode()
    assert f"qrow-{late.id}" in html and f"qrow-{mine.id}" not in html


def test_team_page_refuses_agents(client, world):
    client.force_login(world.agent_a1)
    assert client.get("/inbox/team/").status_code == 403


def test_team_overview_figures(world):
    # Given open conversations, one assigned to agent_a1, and two replies of agent_a1 today
    c1 = conversation_with_messages(world.shop_a1, waited=timedelta(hours=3))
    conversation_with_messages(world.shop_a2, waited=timedelta(minutes=5))
    c1.assignee = world.agent_a1
    c1.save()
    for key, state in (("k1", "sent"), ("k2", "pending"), ("k3", "failed")):
        Message.objects.create(
            conversation=c1,
            shop_account=world.shop_a1,
            direction="out",
            sender_role="CUSTOMER_SERVICE",
            text="hi",
            author=world.agent_a1,
            idempotency_key=key,
            delivery_state=state,
            sent_at=timezone.now(),
        )
    # When the supervisor asks
    overview = team_overview(world.supervisor_a)
    # Then the figures cover organisation A only
    by_user = {a.member.user.username: a for a in overview.agents}
    assert set(by_user) == {"agent_a1", "agent_a2", "supervisor_a"}
    assert by_user["agent_a1"].open_count == 1
    assert by_user["agent_a1"].replies_today == 2  # the failed one is not a reply
    shops = {s.shop.name: s for s in overview.shops}
    assert shops["A1 US"].open_count == 1 and shops["A1 US"].unassigned_count == 0
    assert shops["A2 UK"].unassigned_count == 1
    assert overview.oldest_waiting[0].id == c1.id
    assert overview.totals["open"] == 2


def test_team_overview_query_count_is_flat(world, django_assert_max_num_queries):
    for i in range(12):
        make_person(world.org_a, Role.AGENT, [world.shop_a1], username=f"extra{i}")
        conversation_with_messages(world.shop_a1)
    with django_assert_max_num_queries(9):
        overview = team_overview(world.supervisor_a)
    assert len(overview.agents) == 15


def test_team_page_renders_for_a_supervisor(client, world):
    conversation_with_messages(world.shop_a1)
    client.force_login(world.supervisor_a)
    html = client.get("/inbox/team/").content.decode()
    assert "agent_a1" in html and "A1 US" in html
    assert "B1 US" not in html
