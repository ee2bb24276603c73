"""Review of issue 15: ``audit_verify --from SEQ:CHAINMAC`` with a checkpoint at the chain's
end (nothing written since) reports the chain intact, and still checks the events after it."""

from __future__ import annotations

import pytest

from monitoring.models import AuditEvent
from tests.monitoring.audit_chain_builders import events, verify_command

pytestmark = pytest.mark.django_db


def _checkpoint(org) -> str:
    seq, mac = (
        AuditEvent.objects.filter(organisation=org).order_by("-seq").values_list("seq", "chain_mac")
    )[0]
    return f"{seq}:{mac}"


def test_a_checkpoint_at_the_end_of_the_chain_verifies(world):
    # Given a sealed chain and the checkpoint an operator kept after verifying it
    events(world.org_a, world.agent_a1, 3)
    checkpoint = _checkpoint(world.org_a)
    # When nothing was written since and the operator verifies from the checkpoint
    status, out = verify_command("--organisation", str(world.org_a.id), "--from", checkpoint)
    # Then the chain is intact
    assert status == 0, out
    # And after two more events, verifying from the same checkpoint checks those two
    events(world.org_a, world.agent_a1, 2)
    status, out = verify_command("--organisation", str(world.org_a.id), "--from", checkpoint)
    assert status == 0, out
    assert "OK, 2 sealed events checked" in out
