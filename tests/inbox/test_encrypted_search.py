"""Search over encrypted messages and profiles (issue 16): found through the organisation's
blind tokens, checked against the decrypted text, never across organisations or shops."""

from __future__ import annotations

import pytest
from django.utils import timezone

from inbox.models import Customer, Message, MessageToken
from inbox.selectors.search import customer_ids_matching, message_search
from inbox.services.search_tokens import MESSAGE_PURPOSE, customer_tokens_write
from scrm.blind import fold, org_index_for, text_terms
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


def _found(shop, term: str, shops=None) -> list[str]:
    """The texts a search of ``shops`` (default: ``shop``) finds, newest first."""
    found = message_search(
        organisation_id=shop.organisation_id, shops=shops or [shop.id], term=term
    )
    return [m.text for m in found]


def _profile(shop, *, nickname: str, **fields) -> Customer:
    """A buyer who wrote to ``shop``, with profile values saved and its tokens written."""
    customer = conversation_with_messages(shop, buyer=nickname).customer
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.save()
    customer_tokens_write(customer, org_index_for(shop.organisation_id))
    return customer


def _customers(shop, term: str) -> set[int]:
    return set(customer_ids_matching(org_index_for(shop.organisation_id), term))


# --- messages --------------------------------------------------------------------------------


def test_english_words_are_found_whatever_their_case_and_order(world):
    # Given buyer messages in shop a1
    shop = world.shop_a1
    conversation_with_messages(shop, texts=("Where is my ORDER? The parcel is late.",))
    conversation_with_messages(shop, texts=("I want a refund for the broken mug",))
    # When agents search
    # Then every word must be there, in any order and case; a word is a whole word
    assert _found(shop, "order") == ["Where is my ORDER? The parcel is late."]
    assert _found(shop, "late Parcel") == ["Where is my ORDER? The parcel is late."]
    assert _found(shop, "refund mug") == ["I want a refund for the broken mug"]
    assert _found(shop, "refund parcel") == []
    assert _found(shop, "parcels") == []
    assert _found(shop, "!!!") == []


def test_chinese_is_found_by_pairs_and_single_characters(world):
    shop = world.shop_a1
    conversation_with_messages(shop, texts=("我的快递还没到，请帮我查一下",))
    conversation_with_messages(shop, texts=("退款什么时候到账？",))
    text = "我的快递还没到，请帮我查一下"
    assert _found(shop, "快递") == [text]
    assert _found(shop, "查一下") == [text]
    assert _found(shop, "递") == [text]  # one character typed alone
    assert _found(shop, "到") == ["退款什么时候到账？", text]  # newest first
    assert _found(shop, "快到") == []  # two characters that are not next to each other
    assert _found(shop, "退款 到账") == ["退款什么时候到账？"]


def test_mixed_text_and_japanese_korean(world):
    shop = world.shop_a1
    conversation_with_messages(shop, texts=("iPhone15手机壳 arrived broken",))
    conversation_with_messages(shop, texts=("配送はいつですか 배송 언제",))
    assert _found(shop, "iphone15 手机壳") == ["iPhone15手机壳 arrived broken"]
    assert _found(shop, "手机 broken") == ["iPhone15手机壳 arrived broken"]
    assert _found(shop, "配送") == ["配送はいつですか 배송 언제"]
    assert _found(shop, "배송") == ["配送はいつですか 배송 언제"]


def test_width_case_accents_and_traditional_chinese_fold_alike(world):
    # Why: buyers type full-width letters, accents and traditional characters; agents type
    # what their keyboard gives. Query and text are folded the same way (scrm.blind.fold).
    shop = world.shop_a1
    conversation_with_messages(shop, texts=("ＲＥＦＵＮＤ please, café closed",))
    conversation_with_messages(shop, texts=("我的訂單號碼是多少",))
    assert _found(shop, "refund") == ["ＲＥＦＵＮＤ please, café closed"]
    assert _found(shop, "CAFE") == ["ＲＥＦＵＮＤ please, café closed"]
    assert _found(shop, "订单") == ["我的訂單號碼是多少"]  # simplified finds traditional
    assert _found(shop, "號碼") == ["我的訂單號碼是多少"]  # and traditional finds it too
    assert fold("訂單ＡＢＣ É") == "订单abc e"
    # The words monitor's evasion rules are not search's: numerals stay, pairs stay whole
    assert text_terms("第一次") == ["第一", "一次"]


def test_another_organisation_with_the_same_words_is_not_found_and_its_tokens_differ(world):
    # Given the same message in organisation A and organisation B
    mine = conversation_with_messages(world.shop_a1, texts=("refund my broken mug",))
    theirs = conversation_with_messages(world.shop_b1, texts=("refund my broken mug",))
    # When A searches every shop id it is given, even B's
    found = _found(world.shop_a1, "refund", shops=[world.shop_a1.id, world.shop_b1.id])
    # Then B's message is not found under A's keys ...
    assert len(found) == 1
    # ... and the two messages' tokens share nothing: a dump does not link the tenants
    ours = set(MessageToken.objects.filter(message__conversation=mine).values_list("token"))
    other = set(MessageToken.objects.filter(message__conversation=theirs).values_list("token"))
    assert ours and other and not ours & other


def test_only_the_shops_asked_are_searched(world):
    conversation_with_messages(world.shop_a1, texts=("the lid is cracked",))
    conversation_with_messages(world.shop_a2, texts=("the lid is missing",))
    assert _found(world.shop_a1, "lid") == ["the lid is cracked"]
    both = [world.shop_a1.id, world.shop_a2.id]
    assert sorted(_found(world.shop_a1, "lid", shops=both)) == [
        "the lid is cracked",
        "the lid is missing",
    ]


def test_a_token_collision_costs_a_decryption_never_a_wrong_answer(world):
    # Given a message that does not hold "refund" but carries its token (a collision)
    shop = world.shop_a1
    conversation = conversation_with_messages(shop, texts=("thanks, all good",))
    message = Message.objects.get(conversation=conversation)
    token = org_index_for(shop.organisation_id).token("refund", purpose=MESSAGE_PURPOSE)
    MessageToken.objects.create(shop_account_id=shop.id, message=message, token=token)
    # Then the search decrypts it, sees no "refund" and leaves it out
    assert _found(shop, "refund") == []


def test_pages_go_back_in_time_with_before(world):
    shop = world.shop_a1
    conversation_with_messages(shop, texts=tuple(f"parcel number {i}" for i in range(7)))
    first = message_search(
        organisation_id=shop.organisation_id, shops=[shop.id], term="parcel", limit=3
    )
    rest = message_search(
        organisation_id=shop.organisation_id,
        shops=[shop.id],
        term="parcel",
        limit=10,
        before_id=first[-1].pk,
    )
    assert [m.text for m in first + rest] == [f"parcel number {i}" for i in range(6, -1, -1)]


# --- customers -------------------------------------------------------------------------------


def test_customers_by_name_as_typed(world):
    shop = world.shop_a1
    alice = _profile(shop, nickname="Alice Wong")
    li = _profile(shop, nickname="moonlight", real_name="李小龍")
    assert _customers(shop, "al") == {alice.pk}
    assert _customers(shop, "ali") == {alice.pk}
    assert _customers(shop, "ALICE w") == {alice.pk}
    assert _customers(shop, "wong") == {alice.pk}
    assert _customers(shop, "lice") == set()  # the start of a word, not any part
    assert _customers(shop, "李") == {li.pk}  # real name, one character
    assert _customers(shop, "小龙") == {li.pk}  # simplified finds the traditional name
    assert _customers(shop, "moon") == {li.pk}


def test_customers_by_phone_with_or_without_country_code(world):
    shop = world.shop_a1
    us = _profile(shop, nickname="Sam", phone="+1 (555) 010-4821")
    uk = _profile(shop, nickname="Kim", phone="+44 7700 900123")
    assert _customers(shop, "+1 555 010 4821") == {us.pk}
    assert _customers(shop, "15550104821") == {us.pk}
    assert _customers(shop, "(555) 010-4821") == {us.pk}
    assert _customers(shop, "５５５０１０４８２１") == {us.pk}  # full-width digits
    assert _customers(shop, "07700 900123") == {uk.pk}  # the national trunk 0
    assert _customers(shop, "0044 7700 900123") == {uk.pk}  # 00 for +
    assert _customers(shop, "4821") == set()  # too short to be a phone number


def test_customers_by_email_whole_or_local_part_and_by_exact_nickname(world):
    shop = world.shop_a1
    lina = _profile(shop, nickname="Lina", email="Lina.W@Gmail.com")
    flower = _profile(shop, nickname="🌸🌸")
    assert _customers(shop, "lina.w@gmail.com") == {lina.pk}
    assert _customers(shop, "LINA.W@GMAIL.COM") == {lina.pk}
    assert _customers(shop, "lina.w@") == {lina.pk}
    assert _customers(shop, "lina.w") == {lina.pk}
    assert _customers(shop, "lina.w@yahoo.com") == set()
    assert _customers(shop, "🌸🌸") == {flower.pk}  # no word in it: its exact index


def test_customers_of_another_organisation_erased_or_merged_are_not_found(world):
    mine = _profile(world.shop_a1, nickname="Alice", phone="+1 555 010 4821")
    _profile(world.shop_b1, nickname="Alice", phone="+1 555 010 4821")
    merged = _profile(world.shop_a1, nickname="Alice B", phone="+1 555 010 4821")
    erased = _profile(world.shop_a1, nickname="Alice C", phone="+1 555 010 4821")
    merged.merged_into = mine
    merged.save()
    erased.erased_at = timezone.now()
    erased.save()
    assert _customers(world.shop_a1, "alice") == {mine.pk}
    assert _customers(world.shop_a1, "5550104821") == {mine.pk}


# --- the queue's search box ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/queue/", "/api/v1/conversations/"])
def test_the_queue_search_finds_message_words_and_buyer_names(world, api, path):
    found_by_words = conversation_with_messages(
        world.shop_a1, buyer="Zed", texts=("the 手机壳 arrived cracked",)
    )
    found_by_name = conversation_with_messages(world.shop_a1, buyer="Marisol Ortega")
    hidden = conversation_with_messages(world.shop_a2, buyer="Marisol O", texts=("cracked",))
    client = api.as_user(world.agent_a1)

    def ids(q: str) -> set[int]:
        response = client.get(path, {"q": q})
        assert response.status_code == 200, response.content
        rows = response.json()["results"]
        return {r["conversation"]["id"] if "conversation" in r else r["id"] for r in rows}

    assert ids("cracked") == {found_by_words.id}
    assert ids("手机") == {found_by_words.id}
    assert ids("mari") == {found_by_name.id}
    assert ids("ortega marisol") == {found_by_name.id}
    assert hidden.id not in ids("marisol") | ids("cracked")
