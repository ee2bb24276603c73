"""templates_app reads the inbox only through inbox's selectors for other apps: a scan of its
source (no database) fails on an import of inbox's models or services outside models.py and the
migrations (which declare the foreign keys), and on SQL naming one of inbox's tables."""

from __future__ import annotations

import ast
from pathlib import Path

import templates_app

APP = Path(templates_app.__file__).parent
# Where the app's foreign keys to inbox are declared: the only places that may name its models.
DECLARES_KEYS = {"models.py", "migrations"}
FORBIDDEN = ("inbox.models", "inbox.services")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # "from inbox import models" names the module as an attribute
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def violations(source: str, where: str) -> list[str]:
    """Forbidden imports and inbox table names in one module's source."""
    problems = []
    for line, name in _imports(ast.parse(source)):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            problems.append(f"{where}:{line} imports {name}")
    for line_no, line in enumerate(source.splitlines(), start=1):
        if '"inbox_' in line or "'inbox_" in line:
            problems.append(f"{where}:{line_no} names an inbox table")
    return problems


def _checked_files() -> list[Path]:
    return [
        path
        for path in sorted(APP.rglob("*.py"))
        if path.relative_to(APP).parts[0] not in DECLARES_KEYS
    ]


def test_templates_app_reads_inbox_only_through_its_selectors():
    files = _checked_files()
    assert len(files) > 10  # the scan sees the app (services, selectors, library, api, views)
    problems = [
        p for path in files for p in violations(path.read_text(), str(path.relative_to(APP)))
    ]
    assert problems == []


def test_the_scan_catches_each_way_of_reaching_into_inbox():
    for source in (
        "from inbox.models import Conversation",
        "import inbox.models",
        "from inbox import models",
        "from inbox.models.accounts import Member",
        "from inbox.services.replies import message_send",
        "def f():\n    from inbox.models import Message\n",
        "SQL = 'SELECT 1 FROM \"inbox_message\"'",
    ):
        assert violations(source, "x.py"), source
    assert violations("from inbox.selectors.for_apps import acting_member", "x.py") == []
