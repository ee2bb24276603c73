"""An issue type suggested from the buyer's words, in English and Chinese: keyword rules per
type, matched on the folded text (NFKC, so full-width letters are plain; case; traditional
Chinese characters as simplified, by the word monitor's OpenCC table; curly apostrophes
straight), the type with the most matching keywords winning, ties to the type listed first
(the more specific problem: a "broken" parcel that was also "late" is damaged). Nothing
matched: ``other``.

An after-sales case's platform reason code counts too (``reason_code``): TikTok's codes name
the problem (``ecom_order_delivered_refund_and_return_damaged_item`` and the like).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from monitoring.models.problems import IssueType

# In priority order (ties go to the earlier type).
KEYWORDS: dict[str, tuple[str, ...]] = {
    IssueType.DAMAGED: (
        "broken", "damaged", "damage", "cracked", "crack", "shattered", "smashed", "dented",
        "torn", "ripped", "leaking", "leaked", "scratched", "defective", "faulty",
        "not working", "doesn't work", "does not work", "stopped working",
        "碎", "坏", "破", "裂", "损坏", "破损", "摔", "漏", "划痕", "故障", "不能用", "用不了",
    ),
    IssueType.MISSING_PART: (
        "missing", "not included", "incomplete", "only got one", "only received one",
        "parts missing", "missing part", "without the", "no charger", "no cable",
        "少了", "缺少", "缺", "少件", "漏发", "没有配件", "少一个", "不全",
    ),
    IssueType.SIZE: (
        "size", "too small", "too big", "too large", "too tight", "too loose", "too short",
        "too long", "doesn't fit", "does not fit", "didn't fit", "fits", "smaller than",
        "bigger than", "尺码", "尺寸", "太小", "太大", "偏小", "偏大", "太紧", "太松",
        "不合身", "码数", "大小",
    ),
    IssueType.COLOUR: (
        "colour", "color", "different shade", "wrong shade", "faded", "discolored",
        "discoloured", "颜色", "色差", "褪色", "掉色", "发错色",
    ),
    IssueType.NOT_AS_DESCRIBED: (
        "not as described", "not as pictured", "not what i ordered", "wrong item",
        "different from the picture", "different from the photo", "fake", "counterfeit",
        "misleading", "looks nothing like", "poor quality", "cheap quality",
        "与描述不符", "描述不符", "不符", "货不对板", "发错", "假货", "图片不一样", "质量差",
        "和图片", "不一样",
    ),
    IssueType.LATE: (
        "late", "delay", "delayed", "still not received", "not received", "hasn't arrived",
        "has not arrived", "didn't arrive", "not arrived", "where is my order",
        "where is my package", "still waiting", "tracking", "slow shipping", "never arrived",
        "迟到", "延迟", "太慢", "还没到", "没收到", "未收到", "物流", "还没收到", "什么时候到",
        "发货慢",
    ),
}  # fmt: skip

# Platform reason codes (lower-cased) → issue type, by the words they carry.
REASON_CODE_WORDS: tuple[tuple[str, str], ...] = (
    ("damage", IssueType.DAMAGED),
    ("defect", IssueType.DAMAGED),
    ("missing", IssueType.MISSING_PART),
    ("incomplete", IssueType.MISSING_PART),
    ("size", IssueType.SIZE),
    ("colour", IssueType.COLOUR),
    ("color", IssueType.COLOUR),
    ("not_as_described", IssueType.NOT_AS_DESCRIBED),
    ("wrong_item", IssueType.NOT_AS_DESCRIBED),
    ("counterfeit", IssueType.NOT_AS_DESCRIBED),
    ("late", IssueType.LATE),
    ("delay", IssueType.LATE),
    ("not_received", IssueType.LATE),
)


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    from monitoring.words.normalise import _t2s

    return {ord(k): v for k, v in _t2s().items() if len(k) == 1}


def fold(text: str) -> str:
    """Case, width and script folded; ’ as '."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return text.translate(_t2s_table())


_ASCII_WORD = re.compile(r"^[a-z' ]+$")


def _compile() -> dict[str, list[re.Pattern[str] | str]]:
    """English keywords match whole words (``late`` is not in ``chocolate``); Chinese ones
    as substrings (Chinese has no spaces)."""
    rules: dict[str, list[re.Pattern[str] | str]] = {}
    for issue, words in KEYWORDS.items():
        rules[issue] = [
            re.compile(rf"(?<![a-z]){re.escape(fold(w))}(?![a-z])")
            if _ASCII_WORD.match(w)
            else fold(w)
            for w in words
        ]
    return rules


_RULES = _compile()


def _hits(text: str, rules: list[re.Pattern[str] | str]) -> int:
    return sum(
        1 for rule in rules if (rule.search(text) if isinstance(rule, re.Pattern) else rule in text)
    )


def issue_type_suggest(texts: list[str] | tuple[str, ...], reason_code: str = "") -> str:
    """The issue type the buyer's ``texts`` (and a case's platform reason code) point to."""
    scores: dict[str, int] = {}
    code = reason_code.lower()
    for word, issue in REASON_CODE_WORDS:
        if word in code:
            scores[issue] = scores.get(issue, 0) + 2  # the platform's own classification
            break
    folded = fold(" \n ".join(t for t in texts if t))
    for issue, rules in _RULES.items():
        hits = _hits(folded, rules)
        if hits:
            scores[issue] = scores.get(issue, 0) + hits
    if not scores:
        return IssueType.OTHER.value
    order = list(KEYWORDS)
    best = max(scores.items(), key=lambda item: (item[1], -order.index(item[0])))
    return str(best[0])
