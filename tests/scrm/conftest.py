"""Fixtures of tests/scrm/: the scripted local HTTP server (``server``)."""

from tests.scrm.http_server import server  # noqa: F401 (a fixture, for this directory's tests)
