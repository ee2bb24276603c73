"""Review of issue 15: accented letters typed precomposed are normalised as the same letters
typed with combining marks (which were already removed), so neither form evades a word, and a
mask covers the accented characters in the original text."""

from __future__ import annotations

import unicodedata

import pytest

from monitoring.words.defaults import DEFAULT_CATEGORY_ACTIONS, default_entries
from monitoring.words.normalise import normalise_word
from monitoring.words.screener import EntrySpec, Screener


@pytest.fixture(scope="module")
def screener():
    entries = [EntrySpec(w, c, DEFAULT_CATEGORY_ACTIONS[c]) for w, c in default_entries()]
    entries.append(EntrySpec("pédé", "abuse", "mask"))
    return Screener.build(entries, detector_actions=DEFAULT_CATEGORY_ACTIONS)


@pytest.mark.parametrize(
    "text, hidden",
    [
        ("add me on wéchat", "wéchat"),
        ("add me on whätsapp please", "whätsapp"),
        ("add me on ẉẹçḥạṭ", "ẉẹçḥạṭ"),
        ("add me on ŵêĉĥâţ", "ŵêĉĥâţ"),
    ],
)
def test_precomposed_accents_do_not_evade_a_word(screener, text, hidden):
    result = screener.scan(text)
    assert result.action == "block"
    assert any(hidden in text[m.start : m.end] for m in result.matches)


def test_a_word_with_an_accent_matches_its_text_in_either_unicode_form(screener):
    assert normalise_word("pédé") == normalise_word(unicodedata.normalize("NFD", "pédé"))
    for text in ("tu es un pédé !", unicodedata.normalize("NFD", "tu es un pédé !")):
        result = screener.scan(text)
        assert result.action == "mask", repr(text)
        assert result.masked_text == "tu es un " + "*" * (len(text) - 11) + " !"


def test_other_scripts_keep_their_marks():
    # A kana's voicing mark is part of the letter; Chinese and Korean are untouched.
    assert normalise_word("が") != normalise_word("か")
    assert normalise_word("한국") == "한국"
    assert normalise_word("微信") == "微信"
