"""Moved to ``monitoring.services.screening``; kept so existing imports work (new code imports
``monitoring.services``)."""

from monitoring.services.screening import ScreeningResult, screen_outgoing

__all__ = ["ScreeningResult", "screen_outgoing"]
