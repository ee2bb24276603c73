"""The one normalisation that list words and screened text share, with every normalised character
mapped back to its span in the original text.

Per character (a lazily filled ``str.translate`` table, so each code point is worked out once per
process): NFKC then case folding (full-width and decorated letters: ``ＷｅＣｈａｔ``, ``𝐰𝐞𝐜𝐡𝐚𝐭``,
``ⓦⓔⓒⓗⓐⓣ`` all become ``wechat``), traditional to simplified Chinese (OpenCC's character table),
digits of every script and Chinese numerals to ASCII digits, and zero-width / format characters
and combining marks removed (accents of Latin, Greek and Cyrillic letters too, typed apart or
precomposed alike: ``wéchat``, ``we\u0301chat`` -> ``wechat``).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from monitoring.words.offsets import Offsets, Stage, chain

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

# Cyrillic and Greek letters that look like Latin ones (after case folding), as in "wеchat" with
# a Cyrillic е: mapped to the Latin letter. Words in those scripts go through the same table, so
# a Russian list word still matches Russian text.
_LOOKALIKES = str.maketrans(
    "аеорсхуіјѕһԁԛԝвмнктοαορτικνυχ",
    "aeopcxyijshdqwbmhktoaoptikvux",
)
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


def _without_accents(text: str) -> str:
    """A Latin, Greek or Cyrillic letter without its accents (``é``, ``ä``, ``ẉ`` -> ``e``,
    ``a``, ``w``). Why: combining marks typed apart (``e`` + U+0301) are removed, so the same
    letter typed precomposed must lose them too, or ``wéchat`` and ``whätsapp`` evade the list
    and a word kept with an accent misses text that arrives decomposed (NFD). Other scripts keep
    theirs (a kana's voicing mark is part of the letter)."""
    out = []
    for c in text:
        decomposed = unicodedata.normalize("NFD", c)
        base = ord(decomposed[0])
        if len(decomposed) > 1 and (base < 0x0530 or 0x1E00 <= base < 0x2000):
            kept = "".join(d for d in decomposed if unicodedata.category(d) != "Mn")
            c = unicodedata.normalize("NFC", kept)
        out.append(c)
    return "".join(out)


def _map_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category in _REMOVED_CATEGORIES or (category == "Cc" and not ch.isspace()):
        return ""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", ch).casefold())
    folded = _without_accents(folded)
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
        out.append(digit or c.translate(_LOOKALIKES))
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


# Control characters (other than whitespace) are removed like zero-width ones; NUL is then free
# to mark, inside Views, where separators were closed up.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_JOIN = "\x00"

_special_re: tuple[int, re.Pattern[str] | None] = (0, None)


def _special_pattern() -> re.Pattern[str] | None:
    """A character class of every special character seen so far (recompiled when it grows)."""
    global _special_re
    special = _TABLE.special
    if _special_re[0] != len(special):
        chars = "".join(sorted(re.escape(c) for c in special))
        _special_re = (len(special), re.compile(f"[{chars}]") if chars else None)
    return _special_re[1]


def _map_text(text: str) -> tuple[str, Stage | None]:
    """Every character mapped (the per-character rules), with the stage back to ``text`` when
    some character did not map to exactly one (None: offsets are the identity)."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return text.lower(), None
    mapped = text.translate(_TABLE)
    special = _TABLE.special
    if len(mapped) == len(text) and special.isdisjoint(text):
        return mapped, None
    pattern = _special_pattern()
    if pattern is None:  # never: a special character was just seen
        return mapped, None
    stage = Stage()
    attached = _TABLE.attached
    shift = 0  # derived length minus source length so far
    for found in pattern.finditer(text):
        i = found.start()
        ch = found.group()
        n = len(_TABLE[ord(ch)])
        if n == 0 and ch in attached and i > 0:
            # A mark belongs to the character before it: that character's span grows by one.
            if stage.sends and stage.sends[-1] == i:
                if stage.dends[-1] > stage.dstarts[-1]:
                    stage.sends[-1] = i + 1
                    shift -= 1
                    continue
            else:
                stage.add(i - 1, i + 1, i - 1 + shift, 1)
                shift -= 1
                continue
        stage.add(i, i + 1, i + shift, n)
        shift += n - 1
    return mapped, stage


# A run of separators between two single characters: removed in both views.
_L = f"[^\\W_{CJK}]"
# A run holding an "@" stays: no one spaces out a word with "@", and "a@b.com" is an address.
# (One lookbehind with two branches: measured 5x faster on Chinese text than two lookbehinds.)
_COLLAPSIBLE = re.compile(f"(?<=[{CJK}]|(?<!{_L}){_L})(?:[^\\w@]|_)+(?={_L}(?!{_L})|[{CJK}])")
_GAP_RUN = re.compile(r"(?:[^\w@]|_)+")
_SEP_RUN = re.compile(r"[\W_]+")
_SEP_RUN_KEEP_JOINS = re.compile(r"(?:[^\w\x00]|_)+")


class Views:
    """Both views of one text: ``words`` (separator runs as one space, none at the ends) and
    ``detect`` (separator runs as written), both with original offsets, and ``joins``, the
    positions in ``words.text`` where separators between single characters were removed: a
    word boundary for Latin words (``a 5 stars`` becomes ``a5 stars`` and still matches ``5
    stars``)."""

    __slots__ = (
        "_gaps",
        "_joins",
        "_m",
        "_map",
        "_marked",
        "_seps",
        "_w_marked",
        "detect",
        "words",
    )

    def __init__(self, text: str) -> None:
        m, self._map = _map_text(text)
        self._m = m
        # Closed-up runs are first marked (NUL), so the words view knows where they were without
        # working out its offsets: a boundary check needs that, most texts need no offsets.
        marked = _COLLAPSIBLE.sub(_JOIN, m)
        identity_d = len(marked) == len(m) and _JOIN not in marked
        w_marked = _SEP_RUN_KEEP_JOINS.sub(" ", marked).strip(" ")
        if identity_d:
            d, w = m, w_marked
        else:
            d, w = marked.replace(_JOIN, ""), w_marked.replace(_JOIN, "")
        self._w_marked = w_marked
        self._marked = marked
        self._gaps: Stage | None = None
        self._seps: Stage | None = None
        self._joins: frozenset[int] | None = None
        if identity_d:
            self._gaps = Stage()
        if identity_d and w == d:
            self._seps = Stage()
        d_start, d_end = _lazy(self, False)
        w_start, w_end = _lazy(self, True)
        self.detect = Normalised(d, Offsets(d_start, len(d)), Offsets(d_end, len(d)))
        self.words = Normalised(w, Offsets(w_start, len(w)), Offsets(w_end, len(w)))

    def _gap_stage(self) -> Stage:
        if self._gaps is None:
            # The k-th mark stands for the k-th closed-up run: found by a literal search, not by
            # the collapse regex again (its lookbehind runs at every position).
            stage = Stage()
            m, removed = self._m, 0
            for k, found in enumerate(re.finditer(_JOIN, self._marked)):
                start = found.start() - k + removed
                run = _GAP_RUN.match(m, start)
                end = run.end() if run else start + 1
                stage.sstarts.append(start)
                stage.sends.append(end)
                stage.dstarts.append(start - removed)
                removed += end - start
            stage.dends = stage.dstarts
            self._gaps = stage
        return self._gaps

    def _sep_stage(self) -> Stage:
        if self._seps is None:
            d = self.detect.text
            spans = [found.span() for found in _SEP_RUN.finditer(d)]
            # Each run becomes one space, except at either end of the text, where it goes.
            keep = [1] * len(spans)
            if spans and spans[0][0] == 0:
                keep[0] = 0
            if spans and spans[-1][1] == len(d):
                keep[-1] = 0
            shifts = accumulate(
                (k - (b - a) for (a, b), k in zip(spans, keep, strict=True)), initial=0
            )
            stage = Stage()
            stage.sstarts = [a for a, _ in spans]
            stage.sends = [b for _, b in spans]
            stage.dstarts = [a + s for (a, _), s in zip(spans, shifts, strict=False)]
            stage.dends = [s + k for s, k in zip(stage.dstarts, keep, strict=True)]
            self._seps = stage
        return self._seps

    @property
    def joins(self) -> frozenset[int]:
        if self._joins is None:
            marks = self._w_marked
            self._joins = (
                frozenset(found.start() - k for k, found in enumerate(re.finditer(_JOIN, marks)))
                if _JOIN in marks
                else frozenset()
            )
        return self._joins


def _lazy(views: Views, words: bool) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """Start/end functions that build the stages they need on first use."""
    cache: list[tuple[Callable[[int], int], Callable[[int], int]]] = []

    def resolve() -> tuple[Callable[[int], int], Callable[[int], int]]:
        if not cache:
            stages = [views._map, views._gap_stage()]
            if words:
                stages.append(views._sep_stage())
            cache.append(chain(*stages))
        return cache[0]

    return (lambda i: resolve()[0](i)), (lambda i: resolve()[1](i))


def normalise_views(text: str) -> Views:
    """Both views of ``text`` with their offsets (see ``Views``)."""
    return Views(text)


def normalise(text: str) -> Normalised:
    """The words view of ``text``: what list words are matched against."""
    return normalise_views(text).words


# Words that need no separator or offset work: one CJK run, or Latin runs of two characters or
# more separated by single spaces (most list entries).
_PLAIN_WORD = re.compile(f"[{CJK}]+|{_L}{_L}+(?: {_L}{_L}+)*")


_WORD_CACHE: dict[str, str] = {}
_WORD_CACHE_MAX = 200_000


def normalise_word(word: str) -> str:
    """A list entry's normalised form (== ``normalise(word).text``); remembered per process, so
    rebuilding a list after one change normalises only the new words."""
    cached = _WORD_CACHE.get(word)
    if cached is not None:
        return cached
    if len(_WORD_CACHE) >= _WORD_CACHE_MAX:
        _WORD_CACHE.clear()
    _WORD_CACHE[word] = result = _normalise_word(word)
    return result


def _normalise_word(word: str) -> str:
    mapped = word.lower() if word.isascii() else word.translate(_TABLE)
    if (
        len(mapped) == len(word)
        and _PLAIN_WORD.fullmatch(mapped)
        and (word.isascii() or _TABLE.special.isdisjoint(word))
    ):
        return mapped
    return Views(word).words.text
