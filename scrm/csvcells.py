"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV Injection").

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-``, ``@``
(and, in some, a tab, a carriage return or the full-width forms ``＝＋－＠``) as a formula:
``=HYPERLINK("http://x", "click")`` in a quick reply's title would become a live link, or worse,
in the supervisor's spreadsheet. Every CSV export writes its cells through :func:`escape_cell`,
which puts a single quote in front (the spreadsheet shows the text, without the quote); an
import of our own export reads them back through :func:`unescape_cell`, so the round trip is
exact.

The rule that keeps it exact: a cell is escaped when it starts with a trigger, or when it
already starts with quotes followed by a trigger (``'=x`` is written ``''=x``); unescaping
removes one quote from a cell of quotes followed by a trigger, nothing else. A hand-written
``'hello`` stays ``'hello`` both ways.
"""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")


def _quoted_formula(text: str) -> bool:
    return text.lstrip("'")[:1] in FORMULA_TRIGGERS


def escape_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: text a spreadsheet would run gets a leading
    ``'``. Numbers and other non-text values pass unchanged (the csv module writes them)."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_TRIGGERS or (value[0] == "'" and _quoted_formula(value)):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """The original text of a cell written by :func:`escape_cell`."""
    if text.startswith("'") and _quoted_formula(text):
        return text[1:]
    return text
