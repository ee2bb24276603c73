"""Review of issue 15: the seal sweep seals every organisation although one organisation's
sealing fails (before, the first failure ended the sweep and left the others unsealed)."""

from __future__ import annotations

import pytest

from monitoring.audit_chain.sealer import seal_sweep
from monitoring.audit_chain.verify import chain_verify
from monitoring.models import AuditChainHead, AuditEvent
from tests.monitoring.audit_chain_builders import events

pytestmark = pytest.mark.django_db


def test_one_organisations_broken_head_does_not_stop_the_others_sealing(world):
    # Given organisation A's chain head removed behind the app's back (its next seq is taken)
    events(world.org_a, world.agent_a1, 2)
    AuditChainHead.objects.filter(organisation=world.org_a).delete()
    # And unsealed rows in A and in B, A's first in the sweep's order
    events(world.org_a, world.agent_a1, 1, seal=False)
    events(world.org_b, world.agent_b, 2, seal=False)
    # When the sweep runs
    seal_sweep()
    # Then B is sealed and verifies; A's row waits, unsealed, for audit_verify to report
    assert not AuditEvent.objects.filter(organisation=world.org_b, seq=None).exists()
    assert chain_verify(world.org_b.id).ok
    assert AuditEvent.objects.filter(organisation=world.org_a, seq=None).count() == 1
    assert not chain_verify(world.org_a.id).ok
