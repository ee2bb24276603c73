"""Celery tasks of monitoring: thin wrappers over its services."""

from __future__ import annotations

from celery import shared_task

from monitoring.services import security_events_prune


@shared_task(acks_late=True)
def prune_security_events() -> int:
    return security_events_prune()


@shared_task(acks_late=True)
def sla_recompute(
    organisation_id: int | None = None, shop_account_ids: list[int] | None = None
) -> int:
    """Recompute the open SLA deadlines of these shops (or of every shop of the organisation)
    after their policy, calendar or time zone changed; ids only."""
    from monitoring.sla.recompute import deadlines_recompute

    if shop_account_ids:
        return sum(deadlines_recompute(shop_account_id=shop_id) for shop_id in shop_account_ids)
    if organisation_id is None:
        return 0
    return deadlines_recompute(organisation_id=organisation_id)


@shared_task(acks_late=True)
def sla_sweep() -> int:
    """Every minute: record and send the SLA alerts whose threshold has come (the number
    sent). Periodic, never an ETA task; a re-run or a second worker sends nothing twice."""
    from monitoring.sla.sweep import sla_sweep as sweep

    return sweep().sent


@shared_task(acks_late=True)
def sla_digest() -> int:
    """Every minute: the same-day digest of each shop whose working day just ended (once per
    shop and local day)."""
    from monitoring.sla.digest import sla_digest as digest

    return digest()


@shared_task(acks_late=True)
def audit_seal(organisation_id: int) -> int:
    """Seal the organisation's committed audit rows into its chain (run on commit by
    ``audit_record`` when tasks are eager; ids only). Returns at once when another sealer is
    on it."""
    from monitoring.audit_chain.sealer import seal_organisation

    return seal_organisation(organisation_id)


@shared_task(acks_late=True)
def audit_seal_sweep() -> int:
    """Every 5 s: seal every organisation's committed, unsealed audit rows (outside the tests
    writers publish no task: this is how rows are sealed), so every committed audit row is
    sealed within a minute; one query when there is nothing to seal."""
    from monitoring.audit_chain.sealer import seal_sweep

    return seal_sweep()


@shared_task(acks_late=True)
def metrics_rollup() -> int:
    """Every minute: rebuild the metric days whose facts changed (the number of days); a
    second worker skips the days the first holds (issue 17, docs/insights.md)."""
    from monitoring.metrics.rollup import dirty_days_rebuild

    return dirty_days_rebuild()


@shared_task(acks_late=True)
def metrics_platform_performance() -> int:
    """Every six hours: each connected shop's customer-service figures as its platform counts
    them (Get Customer Service Performance), kept for the readiness panel (issue 17)."""
    from monitoring.metrics.platform import platform_performance_refresh_all

    return platform_performance_refresh_all()
