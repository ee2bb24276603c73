"""The picker's words: how a quick reply's texts and a search are cut into terms.

``templates_app.library`` keeps, per organisation, each word's replies (an inverted index in
memory): a substring scan would read every body on each keystroke. Latin words match by prefix
("ship" finds "shipping"); Chinese, which has no spaces, is indexed as single characters and
character pairs, so any two-character piece of a phrase finds it.
"""

from __future__ import annotations

import re

from templates_app.models import QuickReply

MAX_TERM = 40
MAX_QUERY_TERMS = 6
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+")
_CJK_RE = re.compile(rf"[{_CJK}]")


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


def terms_for(texts: list[str]) -> set[str]:
    """Index terms of some texts: words, and CJK characters and character pairs."""
    terms: set[str] = set()
    for text in texts:
        for token in _tokens(text):
            if _CJK_RE.match(token):
                terms.update(token)
                terms.update(token[i : i + 2] for i in range(len(token) - 1))
            else:
                terms.add(token[:MAX_TERM])
    return terms


def query_terms(search: str) -> list[tuple[str, bool]]:
    """(term, is_prefix) pairs that must all match: Latin words by prefix, CJK pairs exactly."""
    out: list[tuple[str, bool]] = []
    for token in _tokens(search):
        if _CJK_RE.match(token):
            pieces = (
                [token] if len(token) == 1 else [token[i : i + 2] for i in range(len(token) - 1)]
            )
            out.extend((p, False) for p in pieces)
        else:
            out.append((token[:MAX_TERM], True))
    return list(dict.fromkeys(out))[:MAX_QUERY_TERMS]


def index_texts(quick_reply: QuickReply) -> list[str]:
    return [
        quick_reply.shortcut,
        quick_reply.title,
        quick_reply.category,
        *quick_reply.bodies.values(),
    ]
