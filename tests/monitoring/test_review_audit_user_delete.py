"""Review of issue 15: deleting a person (with audit events and violations of theirs) works
under the append-only triggers and changes no audit row: the chain still verifies."""

from __future__ import annotations

import pytest

from monitoring.audit_chain.verify import chain_verify
from monitoring.models import AuditEvent, Violation
from tests.monitoring.audit_chain_builders import events

pytestmark = pytest.mark.django_db


def test_deleting_a_user_changes_no_audit_row(world):
    # Given sealed events of agent a1 and a violation raised by them
    events(world.org_a, world.agent_a1, 3)
    Violation.objects.create(
        organisation=world.org_a,
        shop_account=world.shop_a1,
        actor=world.agent_a1,
        actor_name="A1",
        source="reply",
        action="flag",
        category="custom",
        text="hello",
    )
    before = list(AuditEvent.objects.order_by("id").values_list("id", "actor_id", "actor_name"))
    user_id = world.agent_a1.id
    # When the user is deleted
    world.agent_a1.delete()
    # Then the audit rows keep the id and name, the chain verifies, the violation stays
    after = list(AuditEvent.objects.order_by("id").values_list("id", "actor_id", "actor_name"))
    assert after == before and all(a[1] == user_id for a in after)
    assert chain_verify(world.org_a.id).ok
    assert Violation.objects.get().actor_id is None
