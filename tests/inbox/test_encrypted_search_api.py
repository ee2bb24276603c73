"""GET /api/v1/messages/search/: message search over encrypted text (issue 16)."""

from __future__ import annotations

import pytest

from inbox.api.messages_search import snippet
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db
URL = "/api/v1/messages/search/"


def test_a_search_lists_matching_messages_newest_first_with_a_snippet(world, api):
    # Given two conversations of shop a1 mentioning a refund, one of shop a2
    older = conversation_with_messages(world.shop_a1, texts=("I asked for a refund last week",))
    newer = conversation_with_messages(
        world.shop_a1, texts=("Where is my refund? Call me on +1 555 010 4821 please",)
    )
    conversation_with_messages(world.shop_a2, texts=("refund for shop a2",))
    # When agent a1 searches
    response = api.as_user(world.agent_a1).get(URL, {"q": "Refund"})
    # Then a1's two messages, newest first, with their conversation, shop, time and direction
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"]
    assert [r["conversation_id"] for r in rows] == [newer.id, older.id]
    assert rows[0]["shop_account"] == {"id": world.shop_a1.id, "name": world.shop_a1.name}
    assert rows[0]["direction"] == "in" and rows[0]["sent_at"]
    # and a snippet of the text around the match, its phone number masked
    assert "refund" in rows[0]["snippet"]
    assert "555 010 4821" not in rows[0]["snippet"] and "4821" in rows[0]["snippet"]
    assert body["next"] is None and body["before"] is None


def test_pages_of_fifty_go_back_with_before(world, api):
    conversation_with_messages(world.shop_a1, texts=tuple(f"parcel {i}" for i in range(53)))
    client = api.as_user(world.agent_a1)
    first = client.get(URL, {"q": "parcel"}).json()
    assert len(first["results"]) == 50 and first["before"] == first["results"][-1]["id"]
    assert f"before={first['before']}" in first["next"]
    second = client.get(URL, {"q": "parcel", "before": first["before"]}).json()
    assert len(second["results"]) == 3 and second["next"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 53


def test_one_shop_of_yours_or_404(world, api):
    conversation_with_messages(world.shop_a2, texts=("lid cracked",))
    conversation_with_messages(world.shop_a3, texts=("lid missing",))
    client = api.as_user(world.agent_a2)
    rows = client.get(URL, {"q": "lid", "shop_account": world.shop_a3.id}).json()["results"]
    assert [r["snippet"] for r in rows] == ["lid missing"]
    for other in (world.shop_a1, world.shop_b1):  # same organisation not yours; another one
        response = client.get(URL, {"q": "lid", "shop_account": other.id})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_another_organisation_finds_nothing(world, api):
    conversation_with_messages(world.shop_a1, texts=("secret sauce recipe",))
    for user in (world.agent_b, world.supervisor_b):
        rows = api.as_user(user).get(URL, {"q": "secret sauce"}).json()["results"]
        assert rows == []
    assert len(api.as_user(world.supervisor_a).get(URL, {"q": "sauce"}).json()["results"]) == 1


@pytest.mark.parametrize(
    "query", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}, {"q": "a", "before": "x"}]
)
def test_bad_input_is_a_clear_400(world, api, query):
    response = api.as_user(world.agent_a1).get(URL, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_nobody_signed_in_is_refused(api):
    assert api.get(URL, {"q": "refund"}).status_code in (401, 403)


def test_query_count_does_not_grow_with_the_page(world, api, django_assert_max_num_queries):
    for i in range(30):
        conversation_with_messages(world.shop_a1, texts=(f"damaged box {i}", "box again"))
    client = api.as_user(world.agent_a1)
    client.get(URL, {"q": "box"})  # warm: the organisation's index keys are cached
    # member, shops, candidate ids, the messages with their shops (+ session/auth)
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"q": "box damaged"})
    assert len(response.json()["results"]) == 30


def test_snippet_cuts_around_the_first_match_and_masks_contacts():
    text = ("word " * 30) + "我的訂單 refund please, mail lina.w@gmail.com " + ("tail " * 30)
    shown = snippet(text, "订单")
    assert shown.startswith("…") and shown.endswith("…")
    assert "我的訂單 refund" in shown
    assert "lina.w@gmail.com" not in shown and "l***@gmail.com" in shown
    assert snippet("short one", "one") == "short one"
    # numbers read out in Chinese and spelled-out addresses are contacts too
    assert "一三八" not in snippet("我的电话 一三八〇〇一三八〇〇〇 谢谢", "谢谢")
    assert "gmail" not in snippet("mail me lina [at] gmail dot com thanks", "thanks")
