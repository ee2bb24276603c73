"""The rule as the actor of what it does.

A rule acts through the same services as a person (``after_sales_decide``, ``message_send``,
``conversation_assign``...), so it passes the same checks, screening, audit and outbox. It is
not a user: it has no row, so ``actor_id`` stays empty in the audit, violation and message
rows, and ``actor_name`` reads "Rule #<id>: <name>" (``monitoring.services.audit.actor_name``
takes ``get_full_name``). It acts as a supervisor of the rule's organisation (every shop of it),
which the rule's own shop condition narrows; it never takes a conversation on replying
(``assign_on_reply`` off for it).
"""

from __future__ import annotations

from typing import cast

from inbox.models import AfterSalesRule, Member, Organisation, Role
from inbox.selectors.accounts import AnyUser


class RuleActor:
    """A stand-in user for a rule (see the module's docstring)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, rule: AfterSalesRule) -> None:
        organisation = Organisation.objects.get(id=rule.organisation_id)
        organisation.assign_on_reply = False  # in memory only: a rule takes no conversation
        self.rule_id = rule.id
        self.label = f"Rule #{rule.id}: {rule.name}"[:150]
        member = Member(
            organisation=organisation,
            role=Role.SUPERVISOR,
            display_name=self.label[:100],
            language=organisation.language,
        )
        # What ``member_for`` and ``acting_member`` look for on a user object.
        self._scrm_member = member
        self.member = member

    def get_full_name(self) -> str:
        return self.label

    def get_username(self) -> str:
        return self.label

    def __str__(self) -> str:
        return self.label


def rule_actor(rule: AfterSalesRule) -> AnyUser:
    """The rule as an ``AnyUser`` for the services it calls."""
    return cast(AnyUser, RuleActor(rule))
