"""Celery tasks of the after-sales rules: thin wrappers taking ids, owning their retry policy."""

from __future__ import annotations

import logging

from celery import shared_task

from inbox.platforms.base import PlatformError
from inbox.services.rules.apply import RulesRetry, rules_apply, rules_catch_up

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=6, acks_late=True)
def apply_after_sales_rules(self, case_id: int) -> str:
    """Try the enabled rules on one case; a buyer not known yet or a platform hiccup is tried
    again with backoff (the catch-up sweep is the last resort)."""
    from inbox.tasks import backoff

    try:
        application = rules_apply(case_id=case_id)
    except (RulesRetry, PlatformError) as exc:
        retryable = isinstance(exc, RulesRetry) or getattr(exc, "retryable", False)
        if retryable and self.request.retries < self.max_retries:
            raise self.retry(countdown=backoff(self.request.retries), exc=exc) from exc
        logger.info("rules not applied to case %s: %s", case_id, type(exc).__name__)
        return "not_applied"
    return application.outcome if application is not None else "no_rule"


@shared_task(acks_late=True)
def after_sales_rules_catch_up() -> int:
    return rules_catch_up()
