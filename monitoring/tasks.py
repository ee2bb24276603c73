"""Celery tasks of monitoring: thin wrappers over its services."""

from __future__ import annotations

from celery import shared_task

from monitoring.services import security_events_prune


@shared_task(acks_late=True)
def prune_security_events() -> int:
    return security_events_prune()
