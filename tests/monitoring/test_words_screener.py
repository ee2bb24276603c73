"""The compiled word list (monitoring/words/screener.py) with the shipped defaults: each evasion
caught in English and Chinese with the exact original span, word boundaries for Latin words,
allow phrases, the send's action and masking, and everyday buyer and agent sentences in both
languages raising nothing."""

from __future__ import annotations

import collections
import re

import pytest

from monitoring.words.defaults import (
    BUYER_RISK_ENTRIES,
    DEFAULT_CATEGORY_ACTIONS,
    default_entries,
)
from monitoring.words.normalise import CJK, normalise_word
from monitoring.words.screener import EntrySpec, Screener

CJK_RE = re.compile(f"[{CJK}]")


def _defaults(extra=()):
    entries = [EntrySpec(w, c, DEFAULT_CATEGORY_ACTIONS[c]) for w, c in default_entries()]
    return Screener.build([*entries, *extra], detector_actions=DEFAULT_CATEGORY_ACTIONS)


@pytest.fixture(scope="module")
def screener():
    return _defaults()


def spans(result, text):
    return [(text[m.start : m.end], m.category) for m in result.matches]


# --- the defaults ------------------------------------------------------------------------------
def test_the_default_list_has_dozens_of_words_per_category_in_both_languages():
    by_category = collections.defaultdict(lambda: {"en": 0, "zh": 0})
    for word, category in default_entries():
        language = "zh" if any(CJK_RE.search(c) for c in word) else "en"
        by_category[category][language] += 1
    assert set(by_category) == {
        "off_platform",
        "review_manipulation",
        "abuse",
        "forbidden_promise",
    }
    for counts in by_category.values():
        assert counts["en"] >= 24 and counts["zh"] >= 24, counts


def test_default_words_are_unique_once_normalised():
    keys = [normalise_word(word) for word, _ in default_entries()]
    assert all(keys)
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []


def test_default_actions_cover_every_category():
    assert DEFAULT_CATEGORY_ACTIONS == {
        "off_platform": "block",
        "review_manipulation": "block",
        "abuse": "block",
        "forbidden_promise": "flag",
        "custom": "flag",
        "phone": "mask",
        "email": "mask",
        "messenger_handle": "block",
        "link": "flag",
    }


# --- evasions, each in both languages ----------------------------------------------------------
EVASIONS = [
    # plain
    ("Please add me on WhatsApp", "add me on WhatsApp", "off_platform"),
    ("亲，加微信聊吧", "加微信", "off_platform"),
    # full-width
    (
        "ａｄｄ ｍｅ ｏｎ ｗｈａｔｓａｐｐ please",
        "ａｄｄ ｍｅ ｏｎ ｗｈａｔｓａｐｐ",
        "off_platform",
    ),
    ("亲，加ｖｘ吧", "加ｖｘ", "off_platform"),
    # decorated letters
    ("you 𝐢𝐝𝐢𝐨𝐭", "𝐢𝐝𝐢𝐨𝐭", "abuse"),
    ("ⓢⓗⓘⓣ service", "ⓢⓗⓘⓣ", "abuse"),
    ("亲加𝐯𝐱", "加𝐯𝐱", "off_platform"),
    # look-alike letters of other scripts
    ("add me on whаtsаpp", "add me on whаtsаpp", "off_platform"),  # Cyrillic а
    # traditional characters
    ("好評返現，謝謝", "好評返現", "review_manipulation"),
    ("請刪除差評", "刪除差評", "review_manipulation"),
    # digits of other scripts, Chinese numerals
    ("leave a ٥ stars and we refund you", "٥ stars and we refund", "review_manipulation"),
    ("五星好评返三元", "五星好评返", "review_manipulation"),
    ("伍星好評送禮品", "伍星好評送", "review_manipulation"),
    # inserted spaces, dots, symbols, emoji, zero-width characters
    ("i d i o t", "i d i o t", "abuse"),
    ("w.h.a.t.s.a.p.p only", "w.h.a.t.s.a.p.p", "off_platform"),
    ("f*u*c*k this", "f*u*c*k", "abuse"),
    ("w🙂h🙂a🙂t🙂s🙂a🙂p🙂p", "w🙂h🙂a🙂t🙂s🙂a🙂p🙂p", "off_platform"),
    ("what\u200bsapp", "what\u200bsapp", "off_platform"),
    ("加 微 信", "加 微 信", "off_platform"),
    ("好.评.返.现", "好.评.返.现", "review_manipulation"),
    ("傻*逼", "傻*逼", "abuse"),
    ("加🙂微🙂信", "加🙂微🙂信", "off_platform"),
    ("好\u200b评\u200b返\u200b现", "好\u200b评\u200b返\u200b现", "review_manipulation"),
    # mixed evasions at once
    (
        "ＧＩＶＥ us ５ ｓｔａｒｓ ａｎｄ ｗｅ ｒｅｆｕｎｄ",
        "５ ｓｔａｒｓ ａｎｄ ｗｅ ｒｅｆｕｎｄ",
        "review_manipulation",
    ),
    ("100％正品保證", "100％正品", "forbidden_promise"),
    ("It is guaranteed to work", "guaranteed to work", "forbidden_promise"),
    ("全網最低價", "全網最低價", "forbidden_promise"),
]


@pytest.mark.parametrize(("text", "span", "category"), EVASIONS)
def test_each_evasion_is_caught_with_its_original_span(screener, text, span, category):
    result = screener.scan(text)
    assert (span, category) in spans(result, text)
    assert result.action == DEFAULT_CATEGORY_ACTIONS[category]


@pytest.mark.parametrize(
    "text",
    [
        "This class is great",
        "the assessment passed",
        "It is exactly what I ordered",
        "Is ex actly",
        "我们一定准时发货",
        "He is a scunthorpe fan",
    ],
)
def test_latin_words_match_on_word_boundaries_only(screener, text):
    assert screener.scan(text).matches == ()


def test_cjk_words_match_anywhere(screener):
    text = "请您加微信吧"
    assert spans(screener.scan(text), text) == [("加微信", "off_platform")]


def test_a_match_inside_a_longer_one_as_severe_is_reported_once(screener):
    text = "加我微信"
    assert spans(screener.scan(text), text) == [("加我微信", "off_platform")]


# --- allow phrases, actions, masking -----------------------------------------------------------
def test_allow_phrases_suppress_matches_inside_them():
    entries = [EntrySpec("微信", "off_platform", "block"), EntrySpec("ass", "abuse", "block")]
    screener = Screener.build(
        entries,
        detector_actions={"phone": "mask"},
        allow_phrases=["微信支付", "Ass Creed", "hotline 400 800 1234"],
    )
    assert screener.scan("支持微信支付").matches == ()
    assert screener.scan("I play ass creed").matches == ()
    assert screener.scan("our hotline 400 800 1234").matches == ()
    text = "微信支付不行，加微信"
    assert spans(screener.scan(text), text) == [("微信", "off_platform")]


def test_an_allowed_word_does_not_apply():
    screener = Screener.build(
        [EntrySpec("wechat", "off_platform", "allow"), EntrySpec("line", "custom", "flag")],
        detector_actions={},
    )
    assert screener.scan("wechat").matches == ()
    assert screener.scan("line").action == "flag"


def test_the_most_severe_action_wins_and_only_mask_matches_are_starred():
    screener = Screener.build(
        [
            EntrySpec("secret", "custom", "mask"),
            EntrySpec("promise", "forbidden_promise", "flag"),
        ],
        detector_actions={"phone": "mask", "messenger_handle": "block"},
    )
    text = "I promise the ＳＥＣＲＥＴ is s e c r e t, call 138 0013 8000."
    result = screener.scan(text)
    assert result.action == "mask"
    assert result.masked_text == "I promise the ****** is ***********, call *************."
    assert len(result.masked_text) == len(text)
    blocked = screener.scan(text + " wechat: abc_123")
    assert blocked.action == "block"
    assert blocked.masked_text.endswith("wechat: abc_123")  # a block match is left as it is


def test_masking_covers_marks_and_zero_width_characters_inside_the_match():
    screener = Screener.build([EntrySpec("secret", "custom", "mask")], detector_actions={})
    text = "a s\u0336e\u0336c\u200br\u0336e\u0336t\u0336 b"
    result = screener.scan(text)
    assert result.masked_text == "a " + "*" * (len(text) - 4) + " b"


def test_a_list_changed_by_one_word_matches_its_old_words_and_the_new_one():
    words = [f"word{i:04d}" for i in range(400)] + [f"词语{i:04d}" for i in range(400)]
    before = Screener.build([EntrySpec(w, "custom", "flag") for w in words], detector_actions={})
    after = Screener.build(
        [EntrySpec(w, "custom", "flag") for w in [*words[1:], "brandnew"]], detector_actions={}
    )
    text = f"{words[0]} {words[1]} {words[-1]} brandnew"
    assert [m.word for m in before.scan(text).matches] == [words[0], words[1], words[-1]]
    assert [m.word for m in after.scan(text).matches] == [words[1], words[-1], "brandnew"]


def test_offsets_after_characters_of_every_utf8_length():
    screener = Screener.build(
        [EntrySpec("secret", "custom", "mask"), EntrySpec("微信", "off_platform", "flag")],
        detector_actions={},
    )
    text = "😀é中 secret 𝐬𝐞𝐜𝐫𝐞𝐭 加微信 secret"
    result = screener.scan(text)
    assert [(text[m.start : m.end], m.word) for m in result.matches] == [
        ("secret", "secret"),
        ("𝐬𝐞𝐜𝐫𝐞𝐭", "secret"),
        ("微信", "微信"),
        ("secret", "secret"),
    ]
    assert result.masked_text == "😀é中 ****** ****** 加微信 ******"


def test_nothing_to_say_about_empty_or_separator_only_text(screener):
    for text in ("", "   ", "🙂🙂", "……", "\u200b"):
        result = screener.scan(text)
        assert (result.matches, result.action, result.masked_text) == ((), "", text)


# --- everyday sentences raise nothing ----------------------------------------------------------
EVERYDAY = """
Hi, thanks for your order! It will ship within 48 hours.
Your order 576543210987654321 has been shipped.
The tracking number is 773123456789012, you can follow it in the app.
Tracking: SF1234567890123
The price is $12.99 and shipping is free over $25.
This jacket costs 299.00 USD, now 20% off.
We received your return on 2024-05-01 and the refund will arrive in 3-5 business days.
Delivery is expected on 12/05/2024 between 9:00 and 18:00.
Sorry for the delay, the courier picked it up yesterday.
Is the size M or L better for someone 170 cm tall?
This class of fabric is very soft and breathable.
It is exactly the same as the picture.
Could you send a photo of the damaged item please?
Please check the assembly instructions in the box.
We have passed your message to the warehouse team.
The item weighs 1.5 kg and measures 30 x 20 x 10 cm.
Your refund of 45.50 has been approved.
Thanks.It arrived today and looks great!
I ordered 3 pieces but only received 2.
Can I change the colour to blue before it ships?
The parcel is at the pickup point, code 482913.
Please use the return label in the order page.
We are sorry, this model is out of stock until June 15.
The battery lasts about 10 hours on a full charge.
Is this compatible with iPhone 15 Pro?
You can apply a coupon at checkout in the TikTok Shop app.
Here is the product page: https://shop.tiktok.com/view/product/1729384756
We will follow up in this chat tomorrow morning.
My package number 4312345678901 still shows in transit.
I paid 1,299 for this and it broke after a week.
Order #5765 4321 0987 6543 21, please check.
The classic version is sold out, the assessment is pending.
Please confirm your shipping address in the order details.
Can you give me a discount if I buy two?
Line 2 of the address is missing the unit number.
We hope you enjoy your purchase.
I will wait for the replacement, no problem.
A B C sizes are listed in the chart.
您好，感谢您的下单，我们会在48小时内发货。
您的订单576543210987654321已经发货了。
快递单号是773123456789012，请注意查收。
这件衣服的价格是￥199，现在打八折。
退款会在3到5个工作日内原路退回。
预计2024年5月1日送达。
不好意思让您久等了，仓库已经在加急处理。
请问您需要M码还是L码？
麻烦您拍一张破损的照片发给我们看一下。
我们一定会给您一个满意的答复。
这个产品一星期内就能到。
第一次购买可以使用新人优惠券。
衣服是纯棉的，可以机洗。
您好，已经帮您备注了，请耐心等待。
收到货后如果有任何问题，请随时在这里联系我们。
这款手机壳适用于iPhone 15。
亲，这个颜色目前缺货，预计十五号补货。
退货地址请以订单页面显示为准。
您的包裹已到达驿站，取件码是482913。
商品重量一点五公斤，尺寸三十乘二十厘米。
我买了三件，只收到了两件。
谢谢，东西已经收到了，质量很好。
能不能便宜一点？买两件有优惠吗？
滚筒洗衣机可以用这个洗涤剂吗？
垃圾袋的尺寸是多少？
请在平台上申请退货退款，我们会尽快处理。
您好，订单号：5765 4321 0987 6543 21 已经签收。
金额一共是128元，运费已经包含。
工作时间是早上九点到晚上六点。
麻烦提供一下订单截图，我们帮您查询物流。
""".strip().splitlines()


def test_the_everyday_corpus_is_large_and_in_both_languages():
    chinese = [s for s in EVERYDAY if CJK_RE.search(s)]
    assert len(EVERYDAY) >= 60
    assert len(chinese) >= 25 and len(EVERYDAY) - len(chinese) >= 25


@pytest.mark.parametrize("sentence", EVERYDAY)
def test_everyday_sentences_raise_nothing(screener, sentence):
    result = screener.scan(sentence)
    assert spans(result, sentence) == []
    assert result.action == "" and result.masked_text == sentence


# --- buyer risk phrases ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def risk_screener():
    entries = [EntrySpec(w, tag, "flag") for w, tag in BUYER_RISK_ENTRIES]
    return Screener.build(entries, detector_actions={})


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("Can you give me your WhatsApp?", "off_platform"),
        ("有没有微信？加你微信聊", "off_platform"),
        ("If you don't refund I'll leave a bad review", "bad_review_threat"),
        ("不退款就给差評", "bad_review_threat"),
        ("I will report you to TikTok", "complaint_threat"),
        ("再不处理我就去12315投訴", "complaint_threat"),
        ("you are an idiot", "abuse"),
        ("你是傻逼吗", "abuse"),
    ],
)
def test_buyer_risk_phrases_tag_messages_in_both_languages(risk_screener, text, tag):
    assert tag in {m.category for m in risk_screener.scan(text).matches}


def test_buyer_risk_phrases_leave_everyday_sentences_alone(risk_screener):
    assert [s for s in EVERYDAY if risk_screener.scan(s).matches] == []
