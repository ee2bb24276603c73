"""``manage.py serve``: worker counts it cannot honour are refused before anything starts."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


def test_embedded_mode_refuses_several_workers(settings):
    # Given the embedded mode (its channel layer lives in one process)
    settings.SERVICES_MODE = False
    # When asked for two workers, then a clear refusal, not a split inbox
    with pytest.raises(CommandError, match="embedded mode serves from one process"):
        call_command("serve", workers=2)


def test_a_worker_count_below_one_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", workers=0)
