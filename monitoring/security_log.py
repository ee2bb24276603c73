"""Moved to ``monitoring.services.security_log``; kept so existing imports work (new code imports
``monitoring.services``)."""

from monitoring.services.security_log import security_events_prune

__all__ = ["security_events_prune"]
