"""The problem log's periodic tasks (``SCRM_PERIODIC_TASKS``; registered by
``monitoring.problems.hooks.subscribe`` from ``MonitoringConfig.ready``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def problem_trends() -> int:
    """Every hour: evaluate the trend alert rules (each trend alerted once)."""
    from monitoring.problems.trends import trends_evaluate

    return trends_evaluate()


@shared_task(acks_late=True)
def problem_weekly_mails() -> int:
    """Every hour: the weekly problem e-mail of each shop whose local week ended (once per
    shop-week)."""
    from monitoring.problems.mail import weekly_mails_send

    return weekly_mails_send()
