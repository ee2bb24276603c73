"""A word list as CSV: ``word,category,action`` (UTF-8, a header line; ``action`` empty means the
category's). The export writes every cell through scrm/csvcells.py (a cell a spreadsheet would
run as a formula gets a leading ``'``) and the import reads it back, so a round trip is exact.

The import checks every line before writing any: one bad line (unknown category or action, a
word with nothing to match, a duplicate within the file) refuses the whole file with each
line's reason, and nothing is half-imported. A word already in the list takes the file's
category and action.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.selectors.accounts import AnyUser
from monitoring.models import WordEntry
from monitoring.services.words import (
    clean_action,
    clean_category,
    clean_word,
    list_changed,
    list_owner,
    locked_list,
)
from scrm.api import ServiceError
from scrm.csvcells import escape_cell, unescape_cell

HEADER = ("word", "category", "action")
MAX_BYTES = 2 * 2**20
MAX_ROWS = 20_000
MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


def entries_csv(entries: Any) -> str:
    """The CSV text of ``entries`` (WordEntry rows or (word, category, action) tuples)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for entry in entries:
        row = (
            (entry.word, entry.category, entry.action)
            if isinstance(entry, WordEntry)
            else tuple(entry)
        )
        writer.writerow([escape_cell(cell) for cell in row])
    return out.getvalue()


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ServiceError(gettext_noop("The file is over 2 MB."), details={"field": "file"})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(
            gettext_noop("The file is not UTF-8 text."), details={"field": "file"}
        ) from None


def parse_rows(data: bytes, *, shop_override: bool) -> list[tuple[str, str, str, str]]:
    """(word, normalised, category, action) per line, or ServiceError with
    ``details["errors"]``: [{"line": n, "message": ...}] (the first 50) and nothing parsed."""
    reader = csv.reader(io.StringIO(_decode(data)))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["word", "category"]:
        raise ServiceError(
            gettext_noop("The first line must be the header: word,category,action."),
            details={"field": "file"},
        )
    rows: list[tuple[str, str, str, str]] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            raise ServiceError(
                gettext_noop("The file has over 20,000 words."), details={"field": "file"}
            )
        cells = [unescape_cell(c) for c in cells] + ["", ""]
        try:
            word, normalised = clean_word(cells[0])
            category = clean_category(cells[1].strip())
            action = clean_action(cells[2].strip(), shop_override=shop_override, blank=True)
        except ServiceError as exc:
            errors.append({"line": line, "message": exc.message, "field": exc.details["field"]})
            continue
        if normalised in seen:
            errors.append(
                {
                    "line": line,
                    "message": gettext_noop("The same word as line %(first)d."),
                    "field": "word",
                    "first": seen[normalised],
                }
            )
            continue
        seen[normalised] = line
        rows.append((word, normalised, category, action))
    if errors:
        raise ServiceError(
            gettext_noop("Nothing was imported: %(count)d line(s) have errors."),
            details={"field": "file", "count": len(errors), "errors": errors[:MAX_ERRORS_SHOWN]},
        )
    return rows


@transaction.atomic
def word_list_import_csv(
    *, actor: AnyUser, shop_account_id: int | None, data: bytes
) -> ImportResult:
    """Import ``word,category,action`` lines into the organisation's list or a shop's override.

    Keeps: every line is checked first, any error refuses the file (nothing written); words
    already in the list (by normalised form) take the file's category and action; one version
    bump and one ``word_list.imported`` audit event with the counts.
    """
    member, shop_id = list_owner(actor, shop_account_id)
    rows = parse_rows(data, shop_override=shop_id is not None)
    word_list = locked_list(member, shop_id, create=True)
    existing = {e.normalised: e for e in WordEntry.objects.filter(word_list=word_list)}
    new, changed, unchanged = [], [], 0
    for word, normalised, category, action in rows:
        entry = existing.get(normalised)
        if entry is None:
            new.append(
                WordEntry(
                    word_list=word_list,
                    word=word,
                    normalised=normalised,
                    category=category,
                    action=action,
                )
            )
        elif (entry.category, entry.action) != (category, action):
            entry.category, entry.action = category, action
            changed.append(entry)
        else:
            unchanged += 1
    WordEntry.objects.bulk_create(new, batch_size=1000)
    WordEntry.objects.bulk_update(changed, ["category", "action"], batch_size=1000)
    result = ImportResult(added=len(new), updated=len(changed), unchanged=unchanged)
    if new or changed:
        list_changed(
            word_list,
            actor=actor,
            action="word_list.imported",
            data={"added": result.added, "updated": result.updated},
        )
    return result
