"""The problem log follows the inbox's moments: a case the platform closed gets its record
(``inbox.hooks.case_stage_changed``). A resolved conversation's record is written by the
resolve itself (``inbox.services.conversations.conversation_set_status``), which carries the
agent's choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbox.hooks import CaseStageChanged


def case_closed(change: CaseStageChanged) -> None:
    """A case newly closed: its problem, suggested (inside the case's transaction)."""
    from inbox.models import CaseStage
    from monitoring.problems.services import problem_record_for_case

    if change.after == CaseStage.CLOSED and change.before != CaseStage.CLOSED:
        problem_record_for_case(case=change.case)


def subscribe() -> None:
    """Register the subscriber and the periodic tasks (``MonitoringConfig.ready()``)."""
    from inbox.hooks import case_stage_changed
    from monitoring.problems import tasks  # noqa: F401 - registers the Celery tasks
    from monitoring.problems.mail import register_kinds

    case_stage_changed.subscribe(case_closed)
    register_kinds()
