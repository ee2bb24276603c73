"""The shared normalisation of list words and screened text (monitoring/words/normalise.py): each
rule, the collapse of separators only between single characters, and offsets that lead back to
exactly the original characters."""

from __future__ import annotations

import random

import pytest

from monitoring.words.normalise import normalise, normalise_views, normalise_word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Full-width and decorated letters, case.
        ("ＷｅＣｈａｔ", "wechat"),
        ("𝐖𝐡𝐚𝐭𝐬𝐀𝐩𝐩", "whatsapp"),
        ("ⓦⓔⓒⓗⓐⓣ", "wechat"),
        ("𝓽𝓮𝓵𝓮𝓰𝓻𝓪𝓶", "telegram"),
        ("Straße", "strasse"),
        ("wеchаt", "wechat"),  # Cyrillic е and а
        ("ΚΑΤΟ", "kato"),  # Greek capitals that look Latin
        # Traditional Chinese to simplified.
        ("好評返現", "好评返现"),
        ("聯繫我", "联系我"),
        ("刪除差評", "删除差评"),
        # Digits of other scripts and Chinese numerals.
        ("١٣٨", "138"),
        ("१३८", "138"),
        ("１３８", "138"),
        ("一三八零〇", "13800"),
        ("壹贰叁肆伍陆柒捌玖", "123456789"),
        ("貳陸", "26"),
        # Zero-width and format characters, combining marks.
        ("what\u200bs\u200dapp", "whatsapp"),
        ("加\ufeff微\u2060信", "加微信"),
        ("what\x00s\x07app", "whatsapp"),
        ("w\u0336e\u0336c\u0336h\u0336a\u0336t\u0336", "wechat"),
    ],
)
def test_each_character_rule(text, expected):
    assert normalise(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("w.e.c.h.a.t", "wechat"),
        ("w e c h a t", "wechat"),
        ("w-e_c*h/a|t", "wechat"),
        ("w🙂e🙂c🙂h🙂a🙂t", "wechat"),
        ("微 信", "微信"),
        ("加。微。信", "加微信"),
        ("好🌹评🌹返🌹现", "好评返现"),
        ("1 3 8 0 0", "13800"),
        ("加 v x", "加vx"),
    ],
)
def test_separators_between_single_characters_are_removed(text, expected):
    assert normalise(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("is exactly", "is exactly"),
        ("add  me,   on...WhatsApp!", "add me on whatsapp"),
        ("  leading and trailing  ", "leading and trailing"),
        ("100% 正品", "100 正品"),
        ("a 5 stars", "a5 stars"),
    ],
)
def test_other_separator_runs_become_one_space(text, expected):
    assert normalise(text).text == expected


def test_the_detectors_view_keeps_separators_as_written():
    views = normalise_views("Mail: J.Doe@Gmail.com, tel ＋８６ １３８")
    assert views.detect.text == "mail: j.doe@gmail.com, tel +86 138"
    assert views.words.text == "mail j doe gmail com tel 86 138"


def test_joins_mark_where_single_characters_were_closed_up():
    views = normalise_views("give a 5 stars")
    assert views.words.text == "give a5 stars"
    assert views.words.text.index("5") in views.joins


def _check_offsets(text: str) -> None:
    views = normalise_views(text)
    for view, is_words in ((views.words, True), (views.detect, False)):
        assert len(view.starts) == len(view.ends) == len(view.text)
        previous_start = 0
        for i, char in enumerate(view.text):
            start, end = view.starts[i], view.ends[i]
            assert 0 <= start < end <= len(text)
            assert start >= previous_start
            previous_start = start
            source = text[start:end]
            if char == " " and is_words:
                # A run of separators: each of its characters is one, or expands into some
                # (㈱ -> "(株)").
                assert all(
                    not normalise_word(c) or not normalise_views(c).detect.text.isalnum()
                    for c in source
                ), (text, i, source)
            else:
                assert char in normalise_views(source).detect.text, (text, i, source)


@pytest.mark.parametrize(
    "text",
    [
        "ＷｅＣｈａｔ：ａｂｃ＿１２３",
        "加🙂微🙂信，好評返現！",
        "w\u0336e\u0336c\u0336h\u0336a\u0336t\u0336 me…",
        "Straße ﬁne ㈱ ½ 電話：一三八零零一三八零零零",
        "❤️👍🏻 a.b.c 好的……谢谢",
    ],
)
def test_every_normalised_character_maps_back_to_its_original_characters(text):
    _check_offsets(text)


def test_offsets_hold_for_random_mixtures():
    alphabet = list("abz09 .,-_@/+") + list("微信好评返现") + list("ＷＡ１")
    alphabet += ["\u200b", "ß", "…", "🙂", "一", "壹", "٣", "號", "ﬁ", "é", "\u0336", "\ufe0f"]
    rng = random.Random(15)
    for _ in range(400):
        _check_offsets("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))))


def test_a_word_and_the_same_text_normalise_alike():
    rng = random.Random(16)
    alphabet = list("ab1 .-") + list("微信評") + ["\u200b", "Ｗ", "一", "ß", "\u0301"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert normalise_word(text) == normalise(text).text
