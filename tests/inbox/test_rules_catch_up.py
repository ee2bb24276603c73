"""The catch-up sweep: a request whose rules task was lost is decided by the sweep, once; a
request that came before the rule was enabled is left alone; a disconnected shop leaves the case
to a person. The real database; the decision is queued in the outbox (delivered elsewhere)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import AfterSalesDecision, OutboxAction, RuleApplication
from inbox.services.aftersales_decisions import DECISION_KIND
from inbox.services.rules.apply import rules_catch_up
from inbox.services.rules.dry_run import rule_dry_run
from inbox.services.rules.editing import rule_create, rule_enable
from tests.inbox.rules_builders import DAMAGED, seeded_case

pytestmark = pytest.mark.django_db


def _connect(shop) -> None:
    shop.credentials = {"app_key": "k", "app_secret": "s", "access_token": "t"}
    shop.save(update_fields=["credentials"])


def _rule(world):
    rule = rule_create(
        actor=world.supervisor_a,
        data={
            "name": "Damaged under $20",
            "reason_codes": [DAMAGED],
            "amount_max": "20",
            "currency": "USD",
            "decision": "approve",
        },
    )
    rule_dry_run(actor=world.supervisor_a, rule_id=rule.id)
    return rule_enable(actor=world.supervisor_a, rule_id=rule.id, confirm=True)


def test_the_sweep_decides_a_request_whose_task_was_lost_once(world):
    _connect(world.shop_a1)
    old = seeded_case(world.shop_a1, at=timezone.now() - timedelta(hours=2), amount="9.00")
    rule = _rule(world)
    # Given a request stored after the rule was enabled, whose rules task never ran
    case = seeded_case(world.shop_a1, at=timezone.now(), amount="12.00")
    over = seeded_case(world.shop_a1, at=timezone.now(), amount="21.00")

    # When the sweep runs, twice
    assert rules_catch_up() == 1
    assert rules_catch_up() == 0

    # Then the request under the limit is decided once, by the rule, through the outbox
    decision = AfterSalesDecision.objects.get()
    assert (decision.case_id, decision.decision, decision.author_id) == (
        case.id,
        "APPROVE_REFUND",
        None,
    )
    assert OutboxAction.objects.filter(kind=DECISION_KIND, subject_id=decision.id).count() == 1
    assert list(RuleApplication.objects.values_list("rule_id", "case_id", "outcome")) == [
        (rule.id, case.id, "applied")
    ]
    # and neither the request over the limit nor the one from before the rule is touched
    assert not RuleApplication.objects.filter(case__in=[old, over]).exists()


def test_a_disconnected_shop_leaves_the_case_to_a_person(world):
    _rule(world)
    case = seeded_case(world.shop_a1, at=timezone.now(), amount="12.00")  # shop never connected
    assert rules_catch_up() == 1
    application = RuleApplication.objects.get(case=case)
    assert (application.outcome, application.reason) == ("to_person", "shop_not_authorised")
    assert not AfterSalesDecision.objects.exists()
