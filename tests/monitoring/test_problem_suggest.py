"""The issue type suggested from the buyer's words, in English and Chinese (keyword rules per
type; whole English words; traditional characters and full-width letters folded; a case's
platform reason code counts)."""

from __future__ import annotations

import pytest

from monitoring.problems.suggest import issue_type_suggest


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["The mug arrived broken, the handle is cracked"], "damaged"),
        (["杯子收到就碎了"], "damaged"),
        (["東西壞了"], "damaged"),  # traditional characters
        (["ＢＲＯＫＥＮ on arrival"], "damaged"),  # full-width letters
        (["The shirt is too small, I need a bigger size"], "size"),
        (["尺码偏小，穿不上"], "size"),
        (["The colour is different from the listing"], "colour"),
        (["颜色有色差"], "colour"),
        (["Where is my order? Still not received after 3 weeks"], "late"),
        (["还没收到货，物流太慢了"], "late"),
        (["The charger is missing from the box"], "missing_part"),
        (["少了一个配件，缺少螺丝"], "missing_part"),
        (["This is not as described, looks nothing like the photo"], "not_as_described"),
        (["与描述不符，货不对板"], "not_as_described"),
        (["Thanks, all good!"], "other"),
        (["谢谢"], "other"),
        ([], "other"),
    ],
)
def test_suggestion_in_both_languages(texts, expected):
    # Given the buyer's words / When a type is suggested / Then it is the expected one
    assert issue_type_suggest(texts) == expected


def test_english_keywords_match_whole_words_only():
    # "late" is not in "chocolate", "size" not in "oversized"... but "late" is late
    assert issue_type_suggest(["I love the chocolate flavour"]) == "other"
    assert issue_type_suggest(["It came late"]) == "late"


def test_most_keywords_win_and_ties_go_to_the_more_specific_type():
    # Given a parcel that was late and broken: one keyword each → damaged (listed first)
    assert issue_type_suggest(["late and broken"]) == "damaged"
    # Given more words about lateness than damage → late
    assert issue_type_suggest(["late, delayed, still waiting; one corner dented"]) == "late"


def test_a_cases_reason_code_counts():
    # Given no words but the platform's reason code naming the problem
    reason = "ecom_order_delivered_refund_and_return_reason_damaged"
    assert issue_type_suggest([], reason) == "damaged"
    assert issue_type_suggest(["ok"], "ecom_order_missing_item") == "missing_part"
