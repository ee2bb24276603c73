"""People, managed by admins (inbox.services.people): roles, shop access, deactivation and
reactivation; who may do it; an organisation never left without an admin; what is audited."""

from __future__ import annotations

import pytest
from django.utils import timezone

from inbox.models import ApiToken, Member, Role, ShopMembership
from inbox.selectors.people import person_list
from inbox.services.access import user_deactivate
from inbox.services.people import (
    person_deactivate,
    person_reactivate,
    person_role_change,
    person_shops_set,
)
from inbox.services.tokens import token_create
from monitoring.models import AuditEvent
from scrm.api import Forbidden, NotFound, ServiceError
from tests.factories import make_person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

SITE = "https://inbox.example.com/"
GOOD_PASSWORD = "a-long-and-unusual-passphrase-42"


# --- roles, shop access, deactivation ---------------------------------------------------------
def test_an_admin_changes_a_role_audited(world, admin):
    person_role_change(actor=admin, user_id=world.agent_a1.pk, role=Role.SUPERVISOR)
    assert Member.objects.get(user=world.agent_a1).role == Role.SUPERVISOR
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.actor_id == admin.pk and event.data["to"] == "supervisor"


def test_supervisors_and_agents_change_no_roles(world, admin):
    for who in (world.supervisor_a, world.agent_a1):
        with pytest.raises(Forbidden):
            person_role_change(actor=who, user_id=world.agent_a2.pk, role=Role.ADMIN)
        with pytest.raises(Forbidden):
            person_deactivate(actor=who, user_id=world.agent_a2.pk)
        with pytest.raises(Forbidden):
            person_shops_set(actor=who, user_id=world.agent_a2.pk, shop_account_ids=[])
    assert Member.objects.get(user=world.agent_a2).role == Role.AGENT


def test_an_admin_of_another_organisation_finds_nobody(world, admin):
    outsider = make_person(world.org_b, Role.ADMIN)
    with pytest.raises(NotFound):
        person_role_change(actor=outsider, user_id=world.agent_a1.pk, role=Role.ADMIN)
    with pytest.raises(NotFound):
        person_deactivate(actor=outsider, user_id=world.agent_a1.pk)


def test_an_admin_cannot_demote_or_deactivate_themselves(world, admin):
    with pytest.raises(ServiceError) as own_role:
        person_role_change(actor=admin, user_id=admin.pk, role=Role.AGENT)
    assert own_role.value.code == "own_role"
    with pytest.raises(ServiceError) as own_access:
        person_deactivate(actor=admin, user_id=admin.pk)
    assert own_access.value.code == "cannot_deactivate_self"
    admin.refresh_from_db()
    assert admin.is_active and Member.objects.get(user=admin).role == Role.ADMIN


def test_two_admins_demoting_each_other_at_once_leave_one_admin(world, admin):
    # Given two admins, each with a page open that read them as admin
    other = make_person(world.org_a, Role.ADMIN, username="admin_two")
    from inbox.selectors import member_for

    member_for(admin), member_for(other)  # remembered on each user, as in a request

    # When each demotes the other (the first to commit wins)
    person_role_change(actor=admin, user_id=other.pk, role=Role.AGENT)
    with pytest.raises(Forbidden):
        person_role_change(actor=other, user_id=admin.pk, role=Role.AGENT)
    with pytest.raises(Forbidden):
        person_deactivate(actor=other, user_id=admin.pk)

    # Then the organisation keeps an active admin
    assert Member.objects.filter(
        organisation=world.org_a, role=Role.ADMIN, user__is_active=True
    ).exists()


def test_shop_access_is_set_exactly_and_each_change_audited(world, admin):
    # agent_a2 works a2 and a3; make it a1 and a2
    wanted = [world.shop_a1.id, world.shop_a2.id]
    person_shops_set(actor=admin, user_id=world.agent_a2.pk, shop_account_ids=wanted)
    shops = set(
        ShopMembership.objects.filter(user=world.agent_a2).values_list("shop_account", flat=True)
    )
    assert shops == {world.shop_a1.id, world.shop_a2.id}
    created = AuditEvent.objects.filter(action="membership.created").values_list("data", flat=True)
    deleted = AuditEvent.objects.filter(action="membership.deleted").values_list("data", flat=True)
    assert [d["shop_account_id"] for d in created] == [world.shop_a1.id]
    assert [d["shop_account_id"] for d in deleted] == [world.shop_a3.id]


def test_shop_access_never_names_another_organisations_shop(world, admin):
    with pytest.raises(NotFound):
        person_shops_set(
            actor=admin, user_id=world.agent_a1.pk, shop_account_ids=[world.shop_b1.id]
        )
    assert list(
        ShopMembership.objects.filter(user=world.agent_a1).values_list("shop_account", flat=True)
    ) == [world.shop_a1.id]


def test_deactivating_ends_sessions_and_tokens_and_reactivating_lets_back_in(world, admin, client):
    # Given agent_a1 signed in with a token
    token, _key = token_create(user=world.agent_a1, name="script")
    client.force_login(world.agent_a1)
    assert client.get("/inbox/").status_code == 200

    # When an admin deactivates them
    person_deactivate(actor=admin, user_id=world.agent_a1.pk)

    # Then they are inactive, their token is revoked, their page session is gone; audited
    world.agent_a1.refresh_from_db()
    assert not world.agent_a1.is_active
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert client.get("/inbox/").status_code == 302
    assert AuditEvent.objects.filter(action="user.deactivated", actor_id=admin.pk).exists()
    assert [p.is_active for p in person_list(admin) if p.member.user_id == world.agent_a1.pk] == [
        False
    ]

    # When reactivated, they may sign in again (with a new session), and it is audited
    person_reactivate(actor=admin, user_id=world.agent_a1.pk)
    world.agent_a1.refresh_from_db()
    assert world.agent_a1.is_active
    assert AuditEvent.objects.filter(action="user.reactivated").count() == 1
    person_reactivate(actor=admin, user_id=world.agent_a1.pk)  # again: nothing more
    assert AuditEvent.objects.filter(action="user.reactivated").count() == 1


def test_the_people_list_shows_role_shops_two_factor_and_last_seen(
    world, admin, django_assert_max_num_queries
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    world.agent_a2.last_login = timezone.now()
    world.agent_a2.save()
    for _ in range(5):
        make_person(world.org_a, Role.AGENT, [world.shop_a1, world.shop_a2])
    with django_assert_max_num_queries(4):
        people = person_list(admin)
    by_user = {p.member.user_id: p for p in people}
    # Everyone of A, nobody of B
    assert world.supervisor_b.pk not in by_user and len(people) == 4 + 5
    assert by_user[admin.pk].two_factor and not by_user[world.agent_a1.pk].two_factor
    assert [s.id for s in by_user[world.agent_a2.pk].shops] == [world.shop_a2.id, world.shop_a3.id]
    assert by_user[world.agent_a2.pk].last_seen_at is not None
    with pytest.raises(Forbidden):
        person_list(world.supervisor_a)


def test_an_operator_deactivating_in_django_admin_ends_tokens_too(world, admin):
    # Given agent_a1 holds a token
    token, _key = token_create(user=world.agent_a1, name="script")

    # When an operator deactivates them through the Django admin's path
    user_deactivate(actor=admin, user_id=world.agent_a1.pk, as_operator=True)

    # Then the token is revoked with it (a reactivation cannot bring it back), audited
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="sessions.ended_everywhere").exists()
