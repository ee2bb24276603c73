"""The sandboxed renderer on its own (no database)."""

import pytest

from templates_app import rendering


def test_fills_placeholders_with_and_without_spaces():
    parsed = rendering.parse("Hi {{buyer_name}}, from {{ shop_name }}.")
    out = rendering.render(parsed, {"buyer_name": "Ann", "shop_name": "Sunny"})
    assert out.ok and out.text == "Hi Ann, from Sunny."


def test_default_is_used_only_when_the_value_is_missing():
    parsed = rendering.parse('Hi {{ buyer_name | default:"there" }}!')
    assert rendering.render(parsed, {"buyer_name": None}).text == "Hi there!"
    assert rendering.render(parsed, {"buyer_name": "  "}).text == "Hi there!"
    assert rendering.render(parsed, {"buyer_name": "Bo"}).text == "Hi Bo!"


def test_default_can_hold_escaped_quotes():
    parsed = rendering.parse(r'{{ order_id | default:"your \"latest\" order" }}')
    assert rendering.render(parsed, {}).text == 'your "latest" order'


def test_missing_values_fail_instead_of_leaving_a_blank():
    parsed = rendering.parse("Order {{ order_id }} ships with {{ tracking_number }}.")
    out = rendering.render(parsed, {"order_id": "576"})
    assert not out.ok and out.text is None
    assert out.missing == ["tracking_number"]


def test_unknown_variables_fail():
    parsed = rendering.parse("Hi {{ nickname }} {{ buyer_name }}")
    out = rendering.render(parsed, {"buyer_name": "A"})
    assert out.unknown == ["nickname"]
    assert rendering.render(parsed, {"buyer_name": "A", "nickname": "N"}, ["nickname"]).ok


@pytest.mark.parametrize(
    "body",
    [
        "{{ buyer.name }}",  # no attribute access
        "{{ buyer_name|upper }}",  # no other filters
        "{{ buyer_name | default:unquoted }}",
        "{% if x %}yes{% endif %} {{ }}",
        "Hello {{ buyer_name",
        "Hello buyer_name }}",
        "{{ __class__.__mro__ }}",
    ],
)
def test_anything_but_names_and_default_is_a_syntax_error(body):
    with pytest.raises(rendering.TemplateSyntaxError):
        rendering.parse(body)


def test_values_are_inserted_verbatim_and_never_rendered_again():
    parsed = rendering.parse("Hi {{ buyer_name }}")
    out = rendering.render(parsed, {"buyer_name": "{{ shop_name }} {% debug %}"})
    assert out.text == "Hi {{ shop_name }} {% debug %}"


def test_django_template_tags_are_plain_text():
    parsed = rendering.parse("{% load static %} Hi")
    assert rendering.render(parsed, {}).text == "{% load static %} Hi"


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["你好，这个有货吗？"], "zh-hans"),
        (["hello", "还有吗"], "zh-hans"),
        (["Is this in stock?"], "en"),
        (["123", "👍"], None),
        ([], None),
    ],
)
def test_detects_the_buyers_language(texts, expected):
    assert rendering.detect_language(texts) == expected


def test_picks_requested_then_detected_then_default():
    langs = ["en", "zh-hans", "ms"]
    assert rendering.pick_language(langs, "en", "ms", "zh-hans") == "ms"
    assert rendering.pick_language(langs, "en", "fr", None) is None
    assert rendering.pick_language(langs, "en", None, "zh-hans") == "zh-hans"
    assert rendering.pick_language(["en"], "en", None, "zh-hans") == "en"
    assert rendering.pick_language(["ms", "zh-hans"], "ms", None, None) == "ms"
