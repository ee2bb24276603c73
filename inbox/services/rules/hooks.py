"""When a case arrives or changes, its rules are tried after the commit (by a task: the
actions may need the platform)."""

from __future__ import annotations

from django.db import transaction

from inbox.hooks import CaseStageChanged
from inbox.models import AfterSalesRule, CaseStage
from inbox.services.rules.conditions import REQUEST_STATUSES


def case_stage_changed(moment: CaseStageChanged) -> None:
    """A request now waiting for the seller, in an organisation with enabled rules: queue the
    rules for it once the case's transaction commits."""
    case = moment.case
    if moment.after != CaseStage.NEEDS_DECISION or case.platform_status not in REQUEST_STATUSES:
        return
    if not AfterSalesRule.objects.filter(
        organisation_id=case.organisation_id, is_enabled=True
    ).exists():
        return
    from inbox.services.rules.tasks import apply_after_sales_rules

    case_id = case.id
    transaction.on_commit(lambda: apply_after_sales_rules.delay(case_id))


def rules_subscribe() -> None:
    """Subscribe to the inbox's case moments (from ``InboxConfig.ready``)."""
    from inbox.hooks import case_stage_changed as hook
    from inbox.services.rules import tasks  # noqa: F401 - the tasks, registered by name

    hook.subscribe(case_stage_changed)
