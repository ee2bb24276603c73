"""Moved to ``monitoring.services.audit``; kept so existing imports work (new code imports
``monitoring.services``)."""

from monitoring.services.audit import audit_record

__all__ = ["audit_record"]
