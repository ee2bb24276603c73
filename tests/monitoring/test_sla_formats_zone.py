"""An alert's text names the shop's wall clock; a time-zone name the system no longer knows
gives UTC rather than failing every delivery of the channel."""

from __future__ import annotations

from datetime import UTC, datetime

from monitoring.sla.formats import local_time_text


def test_the_shops_wall_clock_and_a_stale_zone_as_utc():
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert local_time_text(at, "Asia/Shanghai") == "2026-12-03 17:00 Asia/Shanghai (UTC+08:00)"
    assert local_time_text(at, "Mars/Olympus_Mons") == "2026-12-03 09:00 UTC (UTC+00:00)"
