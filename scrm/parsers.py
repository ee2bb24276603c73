"""DRF's request parsers, as every API view uses them (``DEFAULT_PARSER_CLASSES``).

A module of its own: DRF reads ``DEFAULT_PARSER_CLASSES`` while ``rest_framework.views`` is
being imported, so the parser cannot live in a module that imports the views (``scrm.api``).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deep for Python's parser a 400
    ``parse_error`` rather than a RecursionError (a 500)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deep.") from None
