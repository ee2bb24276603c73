"""The picker's word index: every quick reply's words, kept in QuickReplyTerm rows.

A substring scan (``LIKE '%term%'``) reads every body of the organisation on each keystroke and
grows with the library; the index answers from a b-tree. Latin words match by prefix
("ship" finds "shipping"); Chinese, which has no spaces, is indexed as single characters and
character pairs, so any two-character piece of a phrase finds it.
"""

from __future__ import annotations

import re

from templates_app.models import QuickReply, QuickReplyTerm

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


def terms_sql(terms: list[tuple[str, bool]]) -> tuple[str, list[str]]:
    """A condition on the quick reply table: its id has every term (``query_terms``), and its
    parameters; empty when there are no terms.

    "\uffff" sorts after every character a term holds, so [term, term + "\uffff") is the
    b-tree range of the words that start with it. The id column is unqualified (see
    ``selectors._visible_sql``).
    """
    meta, pk = QuickReplyTerm._meta, QuickReply._meta.pk.column
    table, reply, term = (
        meta.db_table,
        meta.get_field("quick_reply").column,
        meta.get_field("term").column,
    )
    parts, params = [], []
    for value, is_prefix in terms:
        if is_prefix:
            parts.append(f'"{term}" >= %s AND "{term}" < %s')
            params += [value, value + "\uffff"]
        else:
            parts.append(f'"{term}" = %s')
            params.append(value)
    sql = " AND ".join(
        f'"{pk}" IN (SELECT "{reply}" FROM "{table}" WHERE {part})'  # noqa: S608 - names from _meta
        for part in parts
    )
    return sql, params


def index_texts(quick_reply: QuickReply) -> list[str]:
    return [
        quick_reply.shortcut,
        quick_reply.title,
        quick_reply.category,
        *quick_reply.bodies.values(),
    ]


def reindex(quick_reply: QuickReply) -> None:
    """Replace one quick reply's terms (call inside the writing transaction)."""
    QuickReplyTerm.objects.filter(quick_reply=quick_reply).delete()
    QuickReplyTerm.objects.bulk_create(
        [
            QuickReplyTerm(quick_reply=quick_reply, term=t)
            for t in terms_for(index_texts(quick_reply))
        ]
    )
