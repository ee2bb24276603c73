"""The four detectors (monitoring/words/detectors.py) through a screener with no words: what each
catches, in both languages and through the evasions the normalisation undoes, with the span of
the original text it reports; and what each deliberately lets through (order ids, tracking
numbers, prices, dates, everyday words that look like a messenger's name)."""

from __future__ import annotations

import pytest

from monitoring.words.screener import Screener

ACTIONS = {"phone": "mask", "email": "mask", "messenger_handle": "block", "link": "flag"}


@pytest.fixture(scope="module")
def screener():
    return Screener.build([], detector_actions=ACTIONS, allow_domains=["myshop.example"])


def found(screener, text, category):
    return [text[m.start : m.end] for m in screener.scan(text).matches if m.category == category]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("call me 138 0013 8000", "138 0013 8000"),
        ("我的手机：一三八零零一三八零零零", "一三八零零一三八零零零"),
        ("电话 壹叁捌零零壹叁捌零零零", "壹叁捌零零壹叁捌零零零"),
        ("tel: ١٣٨٠٠١٣٨٠٠٠", "١٣٨٠٠١٣٨٠٠٠"),
        ("１３８００１３８０００", "１３８００１３８０００"),
        ("my number is +44 20 7946 0958", "+44 20 7946 0958"),
        ("+1 (555) 123-4567", "+1 (555) 123-4567"),
        ("(555) 123-4567", "(555) 123-4567"),
        ("打我电话13800138000", "13800138000"),
        ("电话13800138000谢谢", "13800138000"),
        ("phone 0161 496 0000", "0161 496 0000"),
        ("1 3 8 0 0 1 3 8 0 0 0", "1 3 8 0 0 1 3 8 0 0 0"),
        ("138🙂0013🙂8000", "138🙂0013🙂8000"),
        ("138\u200b0013\u200b8000", "138\u200b0013\u200b8000"),
        ("0086 138 0013 8000", "0086 138 0013 8000"),
    ],
)
def test_phone_numbers(screener, text, span):
    assert found(screener, text, "phone") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "order 576543210987654321",  # a TikTok order id: 18 digits
        "订单号：576543210987654321",
        "Order #5765 4321 0987 6543 21",
        "tracking 773123456789012",
        "快递单号 4312345678901",
        "运单号：75312345678901",
        "单号13800138000",  # mobile-shaped, but introduced as a parcel number
        "SF1234567890123",
        "price $1380013800",
        "¥13800138000",
        "refund 138001380 USD",
        "2024-05-01",
        "12/05/2024 10:30",
        "2024年5月1日",
        "total 1,299,000",
        "pickup code 482913",
        "iPhone 15 Pro 256GB",
        "you have 12345678 points",
    ],
)
def test_not_phone_numbers(screener, text):
    assert found(screener, text, "phone") == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("write to john.doe@gmail.com", "john.doe@gmail.com"),
        ("mail me: abc＠qq.com", "abc＠qq.com"),
        ("john at gmail dot com", "john at gmail dot com"),
        ("john [at] example [dot] com", "john [at] example [dot] com"),
        ("john(at)company.com", "john(at)company.com"),
        ("邮箱123456艾特qq点com", "123456艾特qq点com"),
        ("j.o.h.n@gmail.com", "j.o.h.n@gmail.com"),
        ("mail a@b.com", "a@b.com"),
        ("abc @ 163 . com", "abc @ 163 . com"),
        ("shop_sales at outlook.com", "shop_sales at outlook.com"),
    ],
)
def test_email_addresses(screener, text, span):
    assert found(screener, text, "email") == [span]


@pytest.mark.parametrize(
    "text",
    ["look at tiktok.com", "meet at 5 pm", "I am at home", "we looked at gmail dot", "@everyone"],
)
def test_not_email_addresses(screener, text):
    assert found(screener, text, "email") == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("微信号：abc_123", "微信号：abc_123"),
        ("加我vx: shop888", "vx: shop888"),
        ("wechat: myshop2024", "wechat: myshop2024"),
        ("my wechat id is lucy_shop", "wechat id is lucy_shop"),
        ("WhatsApp 13800138000", "WhatsApp 13800138000"),
        ("wa.me/8613800138000", "wa.me/8613800138000"),
        ("https://t.me/shopdeals", "https://t.me/shopdeals"),
        ("QQ 12345678", "QQ 12345678"),
        ("扣扣：987654321", "扣扣：987654321"),
        ("line id: shop88", "line id: shop88"),
        ("telegram @deal_shop", "telegram @deal_shop"),
        ("V信 abc12345", "V信 abc12345"),
        ("ｗｅｃｈａｔ：ａｂｃ１２３", "ｗｅｃｈａｔ：ａｂｃ１２３"),
        ("w.e.c.h.a.t: shop123", "w.e.c.h.a.t: shop123"),
        ("微信號：abc_123", "微信號：abc_123"),
    ],
)
def test_messenger_handles(screener, text, span):
    assert found(screener, text, "messenger_handle") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "WeChat Pay is not supported",
        "QQ music",
        "line 2 of the address",
        "the line is busy",
        "insta is great",
        "contact.me",
        "V neck 12345",
        "WA state 98101",
        "我们不支持微信支付",
    ],
)
def test_not_messenger_handles(screener, text):
    assert found(screener, text, "messenger_handle") == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("see https://evil.example.com/x", "https://evil.example.com/x"),
        ("visit www.othershop.com", "www.othershop.com"),
        ("go to othershop.com for 20% off", "othershop.com"),
        ("shop.cn/deal", "shop.cn/deal"),
        ("othershop dot com", "othershop dot com"),
        ("othershop(dot)com", "othershop(dot)com"),
        ("访问othershop。com", "othershop。com"),
        ("ｗｗｗ．ｏｔｈｅｒｓｈｏｐ．ｃｏｍ", "ｗｗｗ．ｏｔｈｅｒｓｈｏｐ．ｃｏｍ"),
    ],
)
def test_links_outside_the_allow_list(screener, text, span):
    assert found(screener, text, "link") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "https://shop.tiktok.com/view/product/1",  # the platform's own: always allowed
        "https://vm.tiktok.com/ZMabc/",
        "tiktok.com",
        "https://myshop.example/faq",  # the list's own allow-list
        "https://help.myshop.example/faq",
        "Thanks.It arrived",
        "file.txt",
        "12.99",
        "e.g. this",
        "v1.2.3",
        "Mr.Smith",
        "node.js",
    ],
)
def test_not_links_outside(screener, text):
    assert found(screener, text, "link") == []


def test_a_detector_without_an_action_is_off():
    screener = Screener.build([], detector_actions={"phone": "allow", "email": "mask"})
    result = screener.scan("call 13800138000 or mail a@b.com")
    assert [m.category for m in result.matches] == ["email"]
