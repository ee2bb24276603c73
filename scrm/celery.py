"""The Celery app. Settings come from Django's (CELERY_* names); tasks are found in the apps."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")

app = Celery("scrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **kwargs: object) -> None:
    # One schedule for both modes: celery beat reads it here, scrm.scheduler in embedded mode.
    from django.conf import settings

    sender.conf.beat_schedule = {
        name: {"task": name, "schedule": seconds}
        for name, seconds in settings.SCRM_PERIODIC_TASKS.items()
    }
