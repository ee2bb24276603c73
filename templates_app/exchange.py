"""Import/export rows of quick replies as CSV or JSON (the same fields, round trip exact).

A row: shortcut, title, category, scope, shop_account_ids, default_language, body,
translations ({language: body}), custom_fields, material_ids. In CSV, lists are separated by
spaces and each translation is a ``body:<language>`` column. CSV cells that a spreadsheet
would run as a formula are written with a leading ``'`` and read back without it
(scrm/csvcells.py).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from scrm.csvcells import escape_cell, unescape_cell
from templates_app.models import QuickReply

FIELDS = [
    "shortcut",
    "title",
    "category",
    "scope",
    "shop_account_ids",
    "default_language",
    "body",
    "custom_fields",
    "material_ids",
]
BODY_PREFIX = "body:"
# An import file's size limit: 5,000 rows (the import's limit) of long replies fit well within.
MAX_FILE_BYTES = 5 * 2**20


class ExchangeError(ValueError):
    pass


def row_for(
    quick_reply: QuickReply, shop_account_ids: list[int], material_ids: list[int]
) -> dict[str, Any]:
    """The exported row of one quick reply."""
    return {
        "shortcut": quick_reply.shortcut,
        "title": quick_reply.title,
        "category": quick_reply.category,
        "scope": quick_reply.scope,
        "shop_account_ids": sorted(shop_account_ids),
        "default_language": quick_reply.default_language,
        "body": quick_reply.body,
        "translations": dict(sorted((quick_reply.translations or {}).items())),
        "custom_fields": list(quick_reply.custom_fields or []),
        "material_ids": sorted(material_ids),
    }


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps({"version": 1, "templates": rows}, ensure_ascii=False, indent=2)


def to_csv(rows: list[dict[str, Any]]) -> str:
    languages = sorted({lang for r in rows for lang in r.get("translations", {})})
    header = FIELDS + [BODY_PREFIX + lang for lang in languages]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for r in rows:
        line = []
        for name in FIELDS:
            value = r.get(name, "")
            if isinstance(value, list):
                value = " ".join(str(v) for v in value)
            line.append(value)
        line.extend(r.get("translations", {}).get(lang, "") for lang in languages)
        writer.writerow([escape_cell(cell) for cell in line])
    return out.getvalue()


def from_json(text: str | bytes) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"Not valid JSON: {exc}") from None
    rows = doc.get("templates") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ExchangeError('Expected {"templates": [ {...}, ... ]} or a list of objects.')
    return rows


def _ids(cell: str, column: str, line: int) -> list[int]:
    try:
        return [int(v) for v in cell.replace(",", " ").split()]
    except ValueError:
        raise ExchangeError(f"Line {line}: {column} must be numbers.") from None


def from_csv(text: str | bytes) -> list[dict[str, Any]]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ExchangeError("CSV must be UTF-8.") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    for required in ("shortcut", "title", "body"):
        if required not in header:
            raise ExchangeError(f"CSV header lacks the {required!r} column.")
    rows = []
    for line, raw in enumerate(reader, start=2):
        rec = {k: unescape_cell(v) if isinstance(v, str) else v for k, v in raw.items()}
        row: dict[str, Any] = {k: (rec.get(k) or "") for k in FIELDS if k in header}
        for column in ("shop_account_ids", "material_ids"):
            if column in row:
                row[column] = _ids(row[column], column, line)
        if "custom_fields" in row:
            row["custom_fields"] = row["custom_fields"].replace(",", " ").split()
        row["translations"] = {
            k[len(BODY_PREFIX) :]: v
            for k, v in rec.items()
            if k and k.startswith(BODY_PREFIX) and v
        }
        rows.append(row)
    return rows


def from_upload(upload: Any, fmt: str = "") -> list[dict[str, Any]]:
    """The rows of an uploaded file (Django's ``UploadedFile``): CSV when ``fmt`` says so or
    the name ends in ``.csv``, else JSON. A file over ``MAX_FILE_BYTES`` is refused unread."""
    if upload.size > MAX_FILE_BYTES:
        raise ExchangeError(f"The file is over {MAX_FILE_BYTES:,} bytes.")
    raw = upload.read()
    fmt = fmt.lower()
    if fmt == "csv" or (not fmt and upload.name.lower().endswith(".csv")):
        return from_csv(raw)
    return from_json(raw)
