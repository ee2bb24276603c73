"""The one normalisation that list words and screened text share, with every normalised character
mapped back to its span in the original text.

Per character (a lazily filled ``str.translate`` table, so each code point is worked out once per
process): NFKC then case folding (full-width and decorated letters: ``ＷｅＣｈａｔ``, ``𝐰𝐞𝐜𝐡𝐚𝐭``,
``ⓦⓔⓒⓗⓐⓣ`` all become ``wechat``), traditional to simplified Chinese (OpenCC's character table),
digits of every script and Chinese numerals to ASCII digits, and zero-width / format characters
and combining marks removed.

Then separators (anything that is not a letter, digit or CJK character: spaces, dots, symbols,
emoji) are collapsed *only between single characters*: a CJK character always counts as single, a
run of Latin letters and digits only when it is one character long. So ``w.e.c.h.a.t``, ``微 信``
and ``1 3 8 0 0`` close up, while ``is exactly`` stays two words (it never matches ``sex``). Other
separator runs become one space in the words view; the detectors' view keeps them as they are
(an ``@``, a ``.`` or a ``/`` matters to an e-mail address or a link).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Chinese numerals written as digits (phone numbers read out: 一三八…, 壹叁捌…, 幺 for 1). The
# table is applied after traditional -> simplified, so 貳/陸 arrive here as 贰/陆. 十/百/千 are
# not digits and stay.
_CN_DIGITS = {
    "〇": "0", "零": "0", "○": "0", "◯": "0",
    "一": "1", "壹": "1", "幺": "1",
    "二": "2", "贰": "2", "两": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "柒": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9",
}  # fmt: skip
# 两 is "two" in 两个 as much as in a phone number; mapping it keeps words and text consistent.

CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u3131-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
# A token: a run of CJK characters, or a run of other letters and digits ("Latin" for short).
_TOKEN = re.compile(f"([{CJK}]+)|([^\\W_{CJK}]+)")
LATIN_CHAR = re.compile(f"[^\\W_{CJK}]")
_REMOVED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
# Removed characters that belong to the character before them (accents, strike-through marks,
# emoji variation selectors): a match's span, and so a mask, covers them too.
_ATTACHED_CATEGORIES = frozenset({"Mn", "Me"})


@dataclass(frozen=True)
class Normalised:
    text: str  # the normalised text
    starts: Sequence[int]  # per normalised char: start offset in the original
    ends: Sequence[int]  # per normalised char: end offset in the original


@dataclass(frozen=True)
class Views:
    """Both views of one text. ``joins`` holds the positions in ``words.text`` where separators
    between single characters were removed: a word boundary for Latin words (``a 5 stars``
    becomes ``a5 stars`` and still matches ``5 stars``)."""

    words: Normalised
    detect: Normalised
    joins: frozenset[int]


@lru_cache(maxsize=1)
def _t2s() -> dict[str, str]:
    """OpenCC's traditional -> simplified table, one character to one character (its
    TSCharacters dictionary; phrases are not used, so offsets stay per character)."""
    import opencc

    ranges = [(0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2A6E0)]
    chars = [chr(i) for lo, hi in ranges for i in range(lo, hi)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen; a changed OpenCC would land here
        raise RuntimeError("OpenCC t2s changed the number of lines")
    return {a: b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _map_char(ch: str) -> str:
    if unicodedata.category(ch) in _REMOVED_CATEGORIES:
        return ""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", ch).casefold())
    t2s = _t2s()
    out = []
    for c in folded:
        if unicodedata.category(c) in _REMOVED_CATEGORIES:
            continue
        c = t2s.get(c, c)
        digit = _CN_DIGITS.get(c)
        if digit is None and not c.isascii():
            value = unicodedata.decimal(c, None)
            digit = None if value is None else str(value)
        out.append(digit or c)
    return "".join(out)


class _CharTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each code point. ``special`` collects the
    characters that do not map to exactly one character (they need the offset bookkeeping)."""

    def __init__(self) -> None:
        super().__init__()
        self.special: set[str] = set()
        self.attached: set[str] = set()

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        mapped = _map_char(ch)
        if len(mapped) != 1:
            self.special.add(ch)
            if not mapped and unicodedata.category(ch) in _ATTACHED_CATEGORIES:
                self.attached.add(ch)
        self[code] = mapped
        return mapped


_TABLE = _CharTable()


def _map_text(text: str) -> tuple[str, Sequence[int], Sequence[int]]:
    """Every character mapped, with the original span of each mapped character."""
    if text.isascii():
        return text.lower(), range(len(text)), range(1, len(text) + 1)
    mapped = text.translate(_TABLE)
    special = _TABLE.special
    if len(mapped) == len(text) and special.isdisjoint(text):
        return mapped, range(len(text)), range(1, len(text) + 1)
    attached = _TABLE.attached
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        if ch not in special:
            starts.append(i)
            ends.append(i + 1)
            continue
        n = len(_TABLE[ord(ch)])
        if n:
            starts.extend([i] * n)
            ends.extend([i + 1] * n)
        elif ends and ch in attached:
            ends[-1] = i + 1
    return mapped, starts, ends


def normalise_views(text: str) -> Views:
    """The words view (separator runs kept as one space, none at the ends) and the detectors'
    view (separator runs kept as they are), both with offsets into ``text``."""
    m, starts, ends = _map_text(text)
    w_parts: list[str] = []
    w_starts: list[int] = []
    w_ends: list[int] = []
    d_parts: list[str] = []
    d_starts: list[int] = []
    d_ends: list[int] = []
    joins: set[int] = set()
    prev_end = 0
    prev_single: bool | None = None  # None: no token yet
    w_len = 0
    for token in _TOKEN.finditer(m):
        a, b = token.span()
        single = token.lastindex == 1 or b - a == 1
        if a > prev_end:
            if prev_single is None:
                d_parts.append(m[prev_end:a])
                d_starts.extend(starts[prev_end:a])
                d_ends.extend(ends[prev_end:a])
            elif prev_single and single:
                joins.add(w_len)
            else:
                w_parts.append(" ")
                w_starts.append(starts[prev_end])
                w_ends.append(ends[a - 1])
                w_len += 1
                d_parts.append(m[prev_end:a])
                d_starts.extend(starts[prev_end:a])
                d_ends.extend(ends[prev_end:a])
        tok = m[a:b]
        w_parts.append(tok)
        d_parts.append(tok)
        w_starts.extend(starts[a:b])
        w_ends.extend(ends[a:b])
        d_starts.extend(starts[a:b])
        d_ends.extend(ends[a:b])
        w_len += b - a
        prev_end = b
        # A CJK run's last character is single; a Latin run only when it is one character.
        prev_single = single
    if prev_end < len(m):
        d_parts.append(m[prev_end:])
        d_starts.extend(starts[prev_end:])
        d_ends.extend(ends[prev_end:])
    return Views(
        words=Normalised("".join(w_parts), w_starts, w_ends),
        detect=Normalised("".join(d_parts), d_starts, d_ends),
        joins=frozenset(joins),
    )


def normalise(text: str) -> Normalised:
    """The words view of ``text``: what list words are matched against."""
    return normalise_views(text).words


@lru_cache(maxsize=65536)
def normalise_word(word: str) -> str:
    """A list entry's normalised form (== ``normalise(word).text``); cached, so rebuilding a list
    after one change normalises only the new words."""
    return normalise_views(word).words.text
