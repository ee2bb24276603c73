"""Applying after-sales rules: a request that arrives (the simulator's webhook over real HTTP,
the real database) is decided by the first matching enabled rule through the outbox, with the
rule's reply screened and sent; replaying the case's events never acts twice; a blocked reply
leaves the case to a person; enabling needs a dry run and a confirmation."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox.hooks import CaseStageChanged, case_stage_changed
from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    Message,
    RuleApplication,
    SyncStream,
    WebhookEvent,
)
from inbox.services.aftersales import after_sales_case_sync
from inbox.services.ingestion import stream_backfill
from inbox.services.rules.apply import rules_apply, rules_catch_up
from inbox.services.rules.dry_run import rule_dry_run
from inbox.services.rules.editing import rule_create, rule_enable, rule_update
from inbox.services.rules.tasks import apply_after_sales_rules
from inbox.services.webhooks import webhook_event_process
from monitoring.models import AuditEvent, Violation
from monitoring.services.words import word_entry_add
from scrm.api import Conflict, ServiceError
from tests.factories import QuickReplyFactory
from tests.inbox.case_decisions import sim_decisions
from tests.inbox.rules_builders import DAMAGED

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = "7494000000000917"
REPLY = "Sorry it arrived damaged! {{ shop_name }} has approved your refund."


def _request(platform, shop, *, price: str, text: str = "The mug arrived damaged in transit"):
    """A buyer who chatted with the shop asks for a refund of a one-line order; the webhook
    stores the case (and the rules act on it, the worker running at once here)."""
    sim = platform.sim
    sim.buyer_message(shop.platform_shop_id, buyer_user_id=BUYER, nickname="Mia", text=text)
    stream_backfill(shop=shop, stream=SyncStream.MESSAGES)  # the chat, with the buyer's user id
    sim.deliver_webhooks()
    order_id = sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        products=[("Mug", "Blue", price)],
        status="DELIVERED",
    )
    return_id = sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id=order_id, reason_text=text
    )
    sim.deliver_webhooks()
    return AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)


def _enabled_rule(world, **data):
    rule = rule_create(actor=world.supervisor_a, data=data)
    rule_dry_run(actor=world.supervisor_a, rule_id=rule.id)
    return rule_enable(actor=world.supervisor_a, rule_id=rule.id, confirm=True)


def _damaged_rule(world, **extra):
    reply = QuickReplyFactory(organisation=world.org_a, body=REPLY)
    return _enabled_rule(
        world,
        name="Damaged under $20",
        reason_codes=[DAMAGED],
        amount_max="20",
        currency="USD",
        decision="approve",
        quick_reply=reply.id,
        **extra,
    )


def _replay(case: AfterSalesCase) -> None:
    """Every way the case's events come again: the stored webhooks processed again, a re-read
    from the platform, the stage moment announced again (queued on commit, as ingestion does),
    the task, and the catch-up sweep."""
    for event_id in WebhookEvent.objects.filter(shop_account=case.shop_account).values_list(
        "id", flat=True
    ):
        webhook_event_process(event_id=event_id)
    after_sales_case_sync(shop=case.shop_account, family=case.family, case_id=case.platform_case_id)
    with transaction.atomic():
        row = AfterSalesCase.objects.select_for_update().get(id=case.id)
        case_stage_changed.emit(CaseStageChanged(case=row, before=None, after="needs_decision"))
    apply_after_sales_rules.delay(case.id)
    apply_after_sales_rules(case.id)
    rules_catch_up()
    rules_apply(case_id=case.id)


def test_a_damaged_request_under_the_limit_is_approved_once_by_the_rule_with_its_reply(
    world, platform
):
    shop = world.shop_a1
    # Given the enabled rule "damaged and at most 20 USD -> approve, with a quick reply"
    rule = _damaged_rule(world)

    # When a buyer asks for a refund of 12.50 USD for a mug damaged in transit
    case = _request(platform, shop, price="12.50")

    # Then the platform recorded exactly one decision, the rule's approval
    assert [(d["id"], d["decision"]) for d in sim_decisions(platform, shop)] == [
        (case.platform_case_id, "APPROVE_REFUND")
    ]
    # and the buyer got the rule's reply, once, in their conversation
    sent = [s["content"] for s in platform.sim.sent_messages(shop.platform_shop_id)]
    assert sent == [{"content": "Sorry it arrived damaged! A1 US has approved your refund."}]
    # recorded as the rule's, not a person's
    decision = AfterSalesDecision.objects.get(case=case)
    assert decision.author_id is None and decision.idempotency_key == f"rule-{rule.id}"
    application = RuleApplication.objects.get(case=case)
    assert (application.rule_id, application.outcome, application.actions) == (
        rule.id,
        "applied",
        ["decision", "reply"],
    )
    audit = AuditEvent.objects.get(action="after_sales_rule.applied")
    assert (audit.actor_id, audit.actor_name) == (None, f"Rule #{rule.id}: Damaged under $20")
    submitted = AuditEvent.objects.get(action="after_sales.decision_submitted")
    assert submitted.actor_name == f"Rule #{rule.id}: Damaged under $20"
    case.refresh_from_db()
    assert case.stage == "decided"

    # When every event of the case comes again
    _replay(case)

    # Then nothing is decided or sent twice
    assert len(sim_decisions(platform, shop)) == 1
    assert len(platform.sim.sent_messages(shop.platform_shop_id)) == 1
    assert RuleApplication.objects.filter(case=case).count() == 1
    assert AfterSalesDecision.objects.filter(case=case).count() == 1


def test_a_request_over_the_limit_is_left_alone(world, platform):
    shop = world.shop_a1
    _damaged_rule(world)
    case = _request(platform, shop, price="39.00")
    assert sim_decisions(platform, shop) == []
    assert not RuleApplication.objects.filter(case=case).exists()
    case.refresh_from_db()
    assert case.stage == "needs_decision"


def test_replaying_a_pending_case_never_replies_or_tags_twice(world, platform):
    shop = world.shop_a1
    reply = QuickReplyFactory(organisation=world.org_a, body="We are looking into it.")
    # Given a rule that answers and tags but leaves the decision to a person
    _enabled_rule(
        world,
        name="Acknowledge damaged",
        reason_codes=[DAMAGED],
        quick_reply=reply.id,
        tag="damaged",
        note="Check the photos before approving.",
    )
    case = _request(platform, shop, price="25.00")
    case.refresh_from_db()
    assert case.stage == "needs_decision"  # still waiting for a person's decision
    # When the case's events come again, three times
    for _ in range(3):
        _replay(case)
    # Then the buyer got one acknowledgement, the conversation one tag and one note
    sent = [s["content"] for s in platform.sim.sent_messages(shop.platform_shop_id)]
    assert sent == [{"content": "We are looking into it."}]
    conversation = case.conversation
    assert [t.name for t in conversation.tags.all()] == ["damaged"]
    assert [n.text for n in conversation.notes.all()] == ["Check the photos before approving."]
    assert sim_decisions(platform, shop) == []
    [application] = RuleApplication.objects.filter(case=case)
    assert application.actions == ["reply", "tag", "note"]
    # and the database itself refuses a second application of the rule to the case
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleApplication.objects.create(
            organisation_id=case.organisation_id,
            rule_id=application.rule_id,
            case=case,
            rule_version=1,
            outcome="applied",
        )


def test_a_rule_enabled_later_leaves_a_case_another_rule_acted_on_alone(world, platform):
    shop = world.shop_a1
    ack = QuickReplyFactory(organisation=world.org_a, body="We are looking into it.")
    # Given a rule that acknowledged a damaged request and left the decision to a person
    first = _enabled_rule(
        world, name="Acknowledge damaged", reason_codes=[DAMAGED], quick_reply=ack.id, position=10
    )
    case = _request(platform, shop, price="12.50")
    assert RuleApplication.objects.get(case=case).rule_id == first.id
    # When a supervisor then enables an approving rule ahead of it, and the case changes after
    second = _damaged_rule(world, position=0)
    AfterSalesCase.objects.filter(id=case.id).update(updated_at=timezone.now())
    _replay(case)
    # Then the second rule does not act on the case: no decision, no second automatic answer
    assert sim_decisions(platform, shop) == []
    sent = [s["content"] for s in platform.sim.sent_messages(shop.platform_shop_id)]
    assert sent == [{"content": "We are looking into it."}]
    assert list(RuleApplication.objects.filter(case=case).values_list("rule_id", flat=True)) == [
        first.id
    ]
    case.refresh_from_db()
    assert case.stage == "needs_decision"  # a person's to decide
    # and the database itself refuses a second rule's application to the case
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleApplication.objects.create(
            organisation_id=case.organisation_id,
            rule=second,
            case=case,
            rule_version=1,
            outcome="applied",
        )


def test_a_reply_the_monitor_blocks_is_not_sent_and_the_case_goes_to_a_person(world, platform):
    shop = world.shop_a1
    word_entry_add(
        actor=world.supervisor_a,
        shop_account_id=None,
        word="zorblax",
        category="custom",
        action="block",
    )
    reply = QuickReplyFactory(organisation=world.org_a, body="Refund approved, zorblax!")
    senior = world.supervisor_a
    rule = _enabled_rule(
        world,
        name="Damaged",
        reason_codes=[DAMAGED],
        decision="approve",
        quick_reply=reply.id,
        assign_to=senior.pk,
    )
    case = _request(platform, shop, price="10.00")
    # Then nothing was decided or sent: the case waits for a person, assigned to the senior
    assert sim_decisions(platform, shop) == []
    assert not Message.objects.filter(conversation=case.conversation, direction="out").exists()
    case.refresh_from_db()
    assert case.stage == "needs_decision"
    assert case.conversation.assignee_id == senior.pk
    application = RuleApplication.objects.get(case=case)
    assert (application.outcome, application.reason, application.actions) == (
        "to_person",
        "reply_blocked",
        ["assign"],
    )
    # and the monitor kept the blocked reply as the rule's violation
    violation = Violation.objects.get(organisation=world.org_a)
    assert (violation.action, violation.actor_id) == ("block", None)
    assert violation.actor_name == f"Rule #{rule.id}: Damaged"
    assert AuditEvent.objects.filter(action="after_sales_rule.left_to_person").count() == 1


def test_enabling_needs_a_dry_run_of_this_version_and_a_confirmation(world):
    sup = world.supervisor_a
    rule = rule_create(
        actor=sup, data={"name": "Damaged", "reason_codes": [DAMAGED], "decision": "approve"}
    )
    with pytest.raises(Conflict) as no_dry_run:
        rule_enable(actor=sup, rule_id=rule.id, confirm=True)
    assert no_dry_run.value.code == "dry_run_required"
    rule_dry_run(actor=sup, rule_id=rule.id)
    with pytest.raises(ServiceError) as unconfirmed:
        rule_enable(actor=sup, rule_id=rule.id, confirm=False)
    assert unconfirmed.value.code == "confirm_required"
    assert rule_enable(actor=sup, rule_id=rule.id, confirm=True).is_enabled
    # An edit makes a new version, disabled until it is dry-run and confirmed again
    edited = rule_update(
        actor=sup,
        rule_id=rule.id,
        data={
            "name": "Damaged",
            "reason_codes": [DAMAGED],
            "decision": "approve",
            "amount_max": "30",
            "currency": "USD",
        },
    )
    assert (edited.version, edited.is_enabled) == (2, False)
    with pytest.raises(Conflict):
        rule_enable(actor=sup, rule_id=rule.id, confirm=True)


def test_a_rule_that_decides_needs_a_condition_on_the_case(world):
    with pytest.raises(ServiceError) as refused:
        rule_create(
            actor=world.supervisor_a,
            data={
                "name": "Approve all",
                "shop_account_ids": [world.shop_a1.id],
                "decision": "approve",
            },
        )
    assert refused.value.details["field"] == "kinds"
    with pytest.raises(ServiceError) as no_reason:
        rule_create(
            actor=world.supervisor_a,
            data={"name": "Reject", "reason_codes": [DAMAGED], "decision": "reject"},
        )
    assert no_reason.value.details["field"] == "reject_reason"
