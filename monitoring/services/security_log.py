"""The operators' security log (monitoring.SecurityEvent): its retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from monitoring.models import SecurityEvent


def security_events_prune(*, older_than_days: int | None = None) -> int:
    """Delete security events older than ``SCRM_SECURITY_LOG_DAYS``; returns how many.

    Keeps: only whole rows past the retention go; the audit log (organisations' own) is not
    touched.
    """
    days = settings.SCRM_SECURITY_LOG_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = SecurityEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
