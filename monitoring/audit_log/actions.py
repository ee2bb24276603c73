"""The actions the audit log holds, grouped for the filter and labelled for people.

The log itself stores any action name a service writes; this catalogue only names them on the
pages (an action missing here shows as its raw name and is still filterable). The groups are
also what the behaviour figures count: ``REPLY_ACTIONS``, ``REVEAL_ACTIONS``.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_PATTERN = re.compile(r"[a-z0-9_]{1,32}(\.[a-z0-9_]{1,32}){0,2}")

GROUPS: list[tuple[Promise, list[tuple[str, Promise]]]] = [
    (
        _("Sign-in"),
        [
            ("signin.succeeded", _("Signed in")),
            ("signin.failed", _("Failed sign-in")),
            ("signout", _("Signed out")),
            ("sessions.ended_everywhere", _("Signed out everywhere")),
            ("two_factor.enabled", _("Two-factor sign-in on")),
            ("two_factor.disabled", _("Two-factor sign-in off")),
            ("token.created", _("API token made")),
            ("token.rotated", _("API token rotated")),
            ("token.revoked", _("API token revoked")),
        ],
    ),
    (
        _("Conversation work"),
        [
            ("reply.submitted", _("Reply sent")),
            ("reply.retried", _("Reply retried")),
            ("note.added", _("Note added")),
            ("conversation.assigned", _("Conversation assigned")),
            ("conversation.auto_assigned", _("Assigned automatically")),
            ("conversation.status_changed", _("Status changed")),
            ("conversation.priority_changed", _("Priority changed")),
            ("conversation.tagged", _("Tags changed")),
            ("conversation.read", _("Marked read")),
            ("quick_reply.used", _("Quick reply used")),
        ],
    ),
    (
        _("After-sales"),
        [
            ("after_sales.decision_submitted", _("After-sales decision")),
            ("after_sales.decision_sent", _("Decision delivered")),
            ("after_sales.decision_failed", _("Decision failed")),
        ],
    ),
    (
        _("Personal data access"),
        [
            ("customer.revealed", _("Personal data revealed")),
            ("customer.exported", _("A buyer's data exported")),
            ("customer.erased", _("A buyer's data erased")),
            ("audit.exported", _("Audit log exported")),
            ("insights.exported", _("Shop score figures exported")),
        ],
    ),
    (
        _("Customer profiles"),
        [
            ("customer.updated", _("Customer profile changed")),
            ("customer.note_added", _("Customer note added")),
            ("customer.note_deleted", _("Customer note deleted")),
            ("customer.merged", _("Customer profiles merged")),
            ("customer.merge_undone", _("Customer merge undone")),
            ("customer_field.created", _("Customer field made")),
            ("customer_field.updated", _("Customer field changed")),
            ("customer_field.archived", _("Customer field archived")),
            ("follow_up.created", _("Follow-up added")),
            ("follow_up.completed", _("Follow-up done")),
            ("follow_up.reopened", _("Follow-up reopened")),
        ],
    ),
    (
        _("After-sales rules"),
        [
            ("after_sales_rule.created", _("Rule created")),
            ("after_sales_rule.updated", _("Rule changed")),
            ("after_sales_rule.dry_run", _("Rule dry run")),
            ("after_sales_rule.enabled", _("Rule enabled")),
            ("after_sales_rule.disabled", _("Rule disabled")),
            ("after_sales_rule.applied", _("Rule applied to a case")),
            ("after_sales_rule.left_to_person", _("Rule left a case to a person")),
            ("compensation.created", _("Compensation suggestion added")),
            ("compensation.updated", _("Compensation suggestion changed")),
        ],
    ),
    (
        _("Problem log (issue types, trends)"),
        [
            ("problem.recorded", _("Problem recorded")),
            ("problem.updated", _("Problem corrected")),
            ("problem.settings_changed", _("Problem log settings changed")),
            ("problem.report_exported", _("Weekly problem report exported")),
            ("trend_rule.added", _("Trend rule added")),
            ("trend_rule.paused", _("Trend rule paused")),
            ("trend_rule.resumed", _("Trend rule resumed")),
            ("trend_rule.deleted", _("Trend rule deleted")),
        ],
    ),
    (
        _("Sensitive words"),
        [
            ("violation.raised", _("Violation raised")),
            ("word_list.created", _("Word list made")),
            ("word_list.entry_added", _("Word added")),
            ("word_list.entry_updated", _("Word changed")),
            ("word_list.entry_removed", _("Word removed")),
            ("word_list.category_set", _("Category action set")),
            ("word_list.allow_added", _("Allow-list entry added")),
            ("word_list.allow_removed", _("Allow-list entry removed")),
        ],
    ),
    (
        _("Settings changes"),
        [
            ("organisation.updated", _("Organisation settings")),
            ("member.role_changed", _("Role changed")),
            ("membership.created", _("Shop membership added")),
            ("membership.deleted", _("Shop membership removed")),
            ("membership.reveal_granted", _("Customer data permission given")),
            ("membership.reveal_revoked", _("Customer data permission withdrawn")),
            ("invitation.created", _("Invitation sent")),
            ("invitation.accepted", _("Invitation accepted")),
            ("user.deactivated", _("Person deactivated")),
            ("user.reactivated", _("Person reactivated")),
            ("sla_policy.created", _("SLA policy made")),
            ("sla_policy.updated", _("SLA policy changed")),
            ("sla_policy.reverted", _("SLA policy reverted")),
            ("sla_calendar.updated", _("Working hours changed")),
            ("sla_holiday.added", _("Holiday added")),
            ("sla_holiday.removed", _("Holiday removed")),
            ("sla_channel.created", _("Alert channel added")),
            ("sla_channel.updated", _("Alert channel changed")),
            ("sla_channel.deleted", _("Alert channel removed")),
            ("quick_reply.created", _("Quick reply made")),
            ("quick_reply.updated", _("Quick reply changed")),
        ],
    ),
]

LABELS: dict[str, Promise] = {action: label for _group, rows in GROUPS for action, label in rows}

# What the behaviour figures count.
REPLY_ACTIONS = ("reply.submitted",)
REVEAL_ACTIONS = ("customer.revealed",)
# System events with no person behind them are not "activity" of an agent.
PASSIVE_ACTIONS = ("signin.failed", "reply.delivered", "reply.failed", "after_sales.decision_sent")


def action_label(action: str) -> str:
    """The people's name of an action, or the action itself."""
    label = LABELS.get(action)
    return str(label) if label is not None else action
