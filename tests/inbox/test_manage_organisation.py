"""The organisation's settings (inbox.services.organisation): admins change them, audited; the
two-factor requirement needs the admin to use it first."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from inbox.models import Organisation
from inbox.selectors.people import two_factor_missing_count
from inbox.services.organisation import organisation_update
from monitoring.models import AuditEvent
from scrm.api import Forbidden, ServiceError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


def update(actor, org, **changes):
    values = {
        "name": org.name,
        "time_zone": org.time_zone,
        "language": org.language,
        "require_two_factor": org.require_two_factor,
        "assign_on_reply": org.assign_on_reply,
        **changes,
    }
    return organisation_update(actor=actor, **values)


def test_an_admin_changes_the_settings_audited(world, admin):
    update(
        admin,
        world.org_a,
        name=" Sunny  Home ",
        time_zone="Asia/Shanghai",
        language="zh-hans",
        assign_on_reply=True,
    )
    org = Organisation.objects.get(pk=world.org_a.pk)
    assert (org.name, org.time_zone, org.language, org.assign_on_reply) == (
        "Sunny Home",
        "Asia/Shanghai",
        "zh-hans",
        True,
    )
    event = AuditEvent.objects.get(action="organisation.updated")
    assert event.actor_id == admin.pk
    assert set(event.data["changed"]) == {"name", "time_zone", "language", "assign_on_reply"}
    assert event.data["changed"]["language"] == {"from": "en", "to": "zh-hans"}
    # The same values again write nothing
    update(admin, org)
    assert AuditEvent.objects.filter(action="organisation.updated").count() == 1


def test_only_admins_change_the_settings(world):
    for who in (world.supervisor_a, world.agent_a1):
        with pytest.raises(Forbidden):
            update(who, world.org_a, name="Taken over")
    assert Organisation.objects.get(pk=world.org_a.pk).name == world.org_a.name


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "", "invalid_name"),
        ("name", "x" * 201, "invalid_name"),
        ("name", "a\x00b", "invalid_name"),
        ("time_zone", "Europe/Atlantis", "invalid_time_zone"),
        ("language", "fr", "invalid_language"),
        ("language", "", "invalid_language"),
    ],
)
def test_bad_values_are_a_400(world, admin, field, value, code):
    with pytest.raises(ServiceError) as refused:
        update(admin, world.org_a, **{field: value})
    assert (refused.value.code, refused.value.status_code) == (code, 400)
    assert not AuditEvent.objects.filter(action="organisation.updated").exists()


def test_requiring_two_factor_needs_the_admin_to_use_it_first(world, admin):
    # Given an admin without a second factor: refused, with a reason that says what to do
    with pytest.raises(ServiceError) as refused:
        update(admin, world.org_a, require_two_factor=True)
    assert refused.value.code == "two_factor_self_first" and refused.value.status_code == 409
    assert "yourself first" in refused.value.message
    assert not Organisation.objects.get(pk=world.org_a.pk).require_two_factor
    # When they turn it on for themselves, they can require it
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    update(admin, world.org_a, require_two_factor=True)
    assert Organisation.objects.get(pk=world.org_a.pk).require_two_factor
    # And turning it off again needs nothing
    TOTPDevice.objects.filter(user=admin).delete()
    update(admin, Organisation.objects.get(pk=world.org_a.pk), require_two_factor=False)
    assert not Organisation.objects.get(pk=world.org_a.pk).require_two_factor


def test_the_page_counts_supervisors_and_admins_without_a_second_factor(world, admin):
    # supervisor_a and the admin of A have none; agents do not count; B does not count
    assert two_factor_missing_count(admin) == 2
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    TOTPDevice.objects.create(user=world.supervisor_a, name="unconfirmed", confirmed=False)
    assert two_factor_missing_count(admin) == 1
