"""The tamper-evident audit chain: rows sealed into one chain per organisation, the database
refusing UPDATE and DELETE, and ``audit_verify`` naming the first event someone with the
database but not the key changed, removed or added."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from monitoring.audit_chain.sealer import seal_on_commit, seal_organisation
from monitoring.audit_chain.verify import chain_verify
from monitoring.models import AuditChainHead, AuditEvent
from monitoring.services import audit_record
from tests.monitoring.audit_chain_builders import (
    KEY_1,
    KEY_2,
    events,
    raw,
    triggers_bypassed,
    verify_command,
)

pytestmark = pytest.mark.django_db


def test_sealed_events_form_one_gap_free_chain_per_organisation(world):
    # Given events of two organisations, interleaved
    events(world.org_a, world.agent_a1, 3, seal=False)
    events(world.org_b, world.agent_b, 2, seal=False)
    events(world.org_a, world.agent_a2, 2, seal=False)
    # When each organisation's rows are sealed
    assert seal_organisation(world.org_a.id) == 5
    assert seal_organisation(world.org_b.id) == 2
    # Then each has seq 1..n in the order written, and the chain verifies
    seqs = list(
        AuditEvent.objects.filter(organisation=world.org_a)
        .order_by("id")
        .values_list("seq", flat=True)
    )
    assert seqs == [1, 2, 3, 4, 5]
    assert AuditChainHead.objects.get(organisation=world.org_a).seq == 5
    assert chain_verify(world.org_a.id).ok and chain_verify(world.org_b.id).ok
    status, out = verify_command()
    assert status == 0, out
    assert f"organisation {world.org_a.id}: OK, 5 sealed events checked" in out
    # And sealing again seals nothing
    assert seal_organisation(world.org_a.id) == 0


def test_the_database_refuses_update_and_delete(world):
    [event] = events(world.org_a, world.agent_a1, 1, seal=False)
    # An unsealed row: no content change
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    seal_organisation(world.org_a.id)
    # A sealed row: neither its content nor its seal
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(seq=7)
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert (event.action, event.seq) == ("conversation.assigned", 1)


def test_an_edited_event_is_named(world):
    rows = events(world.org_a, world.agent_a1, 5)
    with triggers_bypassed():
        raw("UPDATE monitoring_auditevent SET actor_name = 'nobody' WHERE id = %s", [rows[2].pk])
    report = chain_verify(world.org_a.id)
    assert report.first_break is not None
    assert (report.first_break.event_id, report.first_break.seq) == (rows[2].pk, 3)
    assert "content changed" in report.first_break.reason
    assert report.breaks == 1  # the walk goes on: the later events are intact
    status, out = verify_command("--organisation", str(world.org_a.id))
    assert status == 1
    assert f"BROKEN at event id {rows[2].pk} (seq 3): content changed" in out


def test_a_deleted_event_is_named_by_the_next_one_and_a_cut_tail_by_the_head(world):
    rows = events(world.org_a, world.agent_a1, 5)
    with triggers_bypassed():
        raw("DELETE FROM monitoring_auditevent WHERE id = %s", [rows[1].pk])
    report = chain_verify(world.org_a.id)
    assert (report.first_break.event_id, report.first_break.seq) == (rows[2].pk, 3)
    assert "seq 2..2 are missing" in report.first_break.reason
    # The last event gone: only the chain head tells
    with triggers_bypassed():
        raw("DELETE FROM monitoring_auditevent WHERE id = %s", [rows[4].pk])
    report = chain_verify(world.org_a.id, from_seq=4)
    assert report.first_break.seq == 5
    assert "events after seq 4 are missing" in report.first_break.reason


def test_an_inserted_event_is_named_sealed_or_not(world):
    rows = events(world.org_a, world.agent_a1, 3)
    now = timezone.now()
    forged = AuditEvent.objects.create(
        organisation=world.org_a, action="customer.revealed", created_at=now,
        nonce="0" * 16, key_id=rows[0].key_id, row_mac="f" * 64,
    )  # fmt: skip
    report = chain_verify(world.org_a.id)
    assert report.first_break.event_id == forged.pk
    assert "forged" in report.first_break.reason
    # Or slipped into the chain after the last event with a made-up seal, the head moved too
    with triggers_bypassed():
        raw(
            "UPDATE monitoring_auditevent SET seq = 4, chain_mac = %s WHERE id = %s",
            ["e" * 64, forged.pk],
        )
        AuditChainHead.objects.filter(organisation=world.org_a).update(seq=4, mac="e" * 64)
    report = chain_verify(world.org_a.id)
    assert (report.first_break.event_id, report.first_break.seq) == (forged.pk, 4)
    assert report.breaks == 1  # the three real events still verify


def test_a_copied_event_is_refused_and_named_if_the_constraint_is_gone(world):
    [event] = events(world.org_a, world.agent_a1, 1, seal=False)
    fields = {
        f.attname: getattr(event, f.attname)
        for f in AuditEvent._meta.concrete_fields
        if f.attname != "id"
    }
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.create(**fields)


def test_old_events_verify_after_a_new_key_is_put_first(world, settings):
    settings.SCRM_AUDIT_KEYS = KEY_1
    old = events(world.org_a, world.agent_a1, 2)
    settings.SCRM_AUDIT_KEYS = f"{KEY_2},{KEY_1}"
    new = events(world.org_a, world.agent_a1, 2)
    assert {e.key_id for e in old} == {"k1"} and {e.key_id for e in new} == {"k2"}
    assert set(AuditEvent.objects.values_list("seal_key_id", flat=True)) == {"k1", "k2"}
    assert chain_verify(world.org_a.id).ok
    # A key dropped too early: the events it signed are named
    settings.SCRM_AUDIT_KEYS = KEY_2
    report = chain_verify(world.org_a.id)
    assert report.first_break.event_id == old[0].pk
    assert "'k1' is not configured" in report.first_break.reason


def test_verify_from_a_sequence_or_a_checkpoint(world):
    events(world.org_a, world.agent_a1, 4)
    status, out = verify_command("--organisation", str(world.org_a.id))
    checkpoint = out.split("checkpoint: ")[1].split()[0]
    assert checkpoint.startswith("4:")
    events(world.org_a, world.agent_a1, 3)
    assert verify_command("--organisation", str(world.org_a.id), "--from", checkpoint)[0] == 0
    assert chain_verify(world.org_a.id, from_seq=5).checked == 3
    # A checkpoint the chain no longer carries (history rewritten before it)
    status, out = verify_command("--organisation", str(world.org_a.id), "--from", "4:" + "0" * 64)
    assert status == 1 and "not the checkpoint's" in out
    assert verify_command("--from", "3")[0] != 0  # sequences are per organisation


def test_unsealed_rows_are_reported_and_flagged_after_a_minute(world):
    events(world.org_a, world.agent_a1, 2)
    events(world.org_a, world.agent_a1, 3, seal=False)
    report = chain_verify(world.org_a.id, now=timezone.now() + timedelta(seconds=90))
    assert report.ok and report.unsealed == 3 and report.unsealed_late == 3
    assert report.unsealed_oldest >= timedelta(seconds=90)
    status, out = verify_command()
    assert status == 0 and "unsealed: 3" in out and "LATE" not in out


def test_rows_are_sealed_on_commit_with_one_task_per_transaction_and_organisation(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        events(world.org_a, world.agent_a1, 3, seal=False)
        events(world.org_b, world.agent_b, 1, seal=False)
        seal_on_commit(world.org_a.id)
    assert len(callbacks) == 2
    assert not AuditEvent.objects.filter(seq=None).exists()
    assert chain_verify(world.org_a.id).ok


def test_without_eager_tasks_a_writer_publishes_nothing_and_the_sweep_seals(
    world, django_capture_on_commit_callbacks
):
    # Services mode: a Celery publish on commit cost a writer more than its whole row
    # (docs/performance.md, "The audit chain"), so the periodic sweep is what seals there.
    from django.conf import settings

    from monitoring.tasks import audit_seal, audit_seal_sweep

    conf = audit_seal.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            audit_record(organisation_id=world.org_a.id, actor=world.agent_a1, action="x.y")
    finally:
        conf.task_always_eager = eager
    assert callbacks == []
    assert AuditEvent.objects.filter(organisation=world.org_a, seq=None).count() == 1
    # The sweep as beat runs it (here in the test's process)
    assert audit_seal_sweep.apply().get() == 1
    assert chain_verify(world.org_a.id).ok and chain_verify(world.org_a.id).unsealed == 0
    # And the sweep runs often enough that every committed row is sealed within a minute
    assert settings.SCRM_PERIODIC_TASKS["monitoring.tasks.audit_seal_sweep"] <= 30


def test_data_is_kept_as_it_was_signed(world):
    event = audit_record(
        organisation_id=world.org_a.id, actor=None, action="x.y",
        data={"ids": (3, 1), 2: "two", "rate": 1.5, "名": "中文"},
    )  # fmt: skip
    seal_organisation(world.org_a.id)
    event.refresh_from_db()
    assert event.data == {"ids": [3, 1], "2": "two", "rate": 1.5, "名": "中文"}
    assert chain_verify(world.org_a.id).ok
