"""CSV exports never hand a spreadsheet a formula, and an import of the export gets the exact
text back (scrm/csvcells.py, OWASP "CSV Injection")."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from scrm.csvcells import FORMULA_TRIGGERS, escape_cell, unescape_cell
from templates_app import services
from templates_app.models import QuickReply
from tests.templates_app.conftest import create_reply

BASE = "/api/v1/templates/"
HYPERLINK = '=HYPERLINK("http://x")'


def _cells(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text)))


def test_a_formula_title_is_exported_escaped_and_imported_back_exactly(api, world):
    # Given quick replies whose texts a spreadsheet would run, and one already quote-led
    sup = world.supervisor_a
    create_reply(sup, shortcut="link", title=HYPERLINK, body="+10% off today", category="@home")
    create_reply(sup, shortcut="quoted", title="'=1+1", body="－2", category="-sale")
    create_reply(sup, shortcut="plain", title="'hello", body="Hi -- ok", category="")
    client = api.as_user(sup)

    # When the supervisor exports them as CSV
    response = client.get(f"{BASE}export/", {"format": "csv"})
    assert response.status_code == 200

    # Then no cell starts with a formula character: each got a leading quote
    rows = {r["shortcut"]: r for r in _cells(response.content.decode())}
    assert rows["link"]["title"] == "'" + HYPERLINK
    assert rows["link"]["body"] == "'+10% off today"
    assert rows["link"]["category"] == "'@home"
    assert rows["quoted"]["title"] == "''=1+1"
    assert rows["quoted"]["body"] == "'－2"
    assert rows["quoted"]["category"] == "'-sale"
    assert rows["plain"]["title"] == "'hello"  # not a formula: left alone
    for row in rows.values():
        for cell in row.values():
            assert cell[:1] not in FORMULA_TRIGGERS

    # When they are archived and the file imported again
    for q in QuickReply.objects.filter(organisation=world.org_a):
        services.quick_reply_archive(actor=sup, quick_reply_id=q.id)
    upload = SimpleUploadedFile("replies.csv", response.content)
    imported = client.post(f"{BASE}import/", {"file": upload}, format="multipart")
    assert imported.status_code == 200, imported.content
    assert imported.json()["created"] == 3

    # Then the texts are the originals, not the escaped cells
    live = {q.shortcut: q for q in QuickReply.objects.filter(is_archived=False)}
    assert live["link"].title == HYPERLINK
    assert live["link"].body == "+10% off today"
    assert live["link"].category == "@home"
    assert live["quoted"].title == "'=1+1"
    assert live["quoted"].body == "－2"
    assert live["quoted"].category == "-sale"
    assert live["plain"].title == "'hello"


@pytest.mark.parametrize(
    "text",
    [
        "=1",
        "+1",
        "-1",
        "@x",
        "\tx",
        "\rx",
        "＝1",
        "＋1",
        "－1",
        "＠x",
        "'=1",
        "''@x",
        "'",
        "'a",
        "a=1",
    ],
)
def test_escape_round_trips(text):
    # Given any text; when it is escaped then unescaped: the same text
    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    # and the escaped cell never starts with a formula character
    assert escaped[:1] not in FORMULA_TRIGGERS
