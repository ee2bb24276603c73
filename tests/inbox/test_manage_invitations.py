"""Invitations (inbox.services.invitations): the token stored hashed, the link working once
and until it expires, the e-mail in the organisation's language, who may invite and withdraw,
what is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone

from inbox.models import Invitation, Member, Role, ShopMembership
from inbox.selectors.people import invitation_list
from inbox.services.invitations import invitation_accept, invitation_create, invitation_revoke
from monitoring.models import AuditEvent
from scrm.api import Forbidden, NotFound, ServiceError
from tests.factories import make_person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

SITE = "https://inbox.example.com/"
GOOD_PASSWORD = "a-long-and-unusual-passphrase-42"


def invite(admin, email="new.agent@example.com", role=Role.AGENT, shops=()):
    return invitation_create(
        actor=admin, email=email, role=role, shop_account_ids=[s.id for s in shops], site_url=SITE
    )


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def test_an_invitation_stores_only_a_hash_and_mails_the_link(world, admin):
    # When an admin invites someone to shop a1 as an agent
    new = invite(admin, shops=[world.shop_a1])

    # Then the link is on our site, the token itself is nowhere in the database
    assert new.link.startswith(SITE + "invitation/")
    token = token_of(new.link)
    assert len(token) >= 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT token_hash, email FROM inbox_invitation")
        stored_hash, _email = cursor.fetchone()
    assert token not in stored_hash and stored_hash != token
    # It expires in 7 days, and it was e-mailed with the link
    assert new.invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    assert new.invitation.expires_at - timezone.now() <= timedelta(days=7)
    assert new.emailed
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.agent@example.com"]
    assert new.link in message.body and world.org_a.name in message.subject
    # Audited, without the address
    event = AuditEvent.objects.get(action="invitation.created")
    assert event.actor_id == admin.pk
    assert event.data == {"role": "agent", "shop_account_ids": [world.shop_a1.id]}
    assert "example.com" not in str(event.data)


def test_the_invitation_email_is_in_the_organisations_language(world, admin):
    world.org_a.language = "zh-hans"
    world.org_a.save()
    invite(admin)
    assert "受邀加入" in mail.outbox[0].subject and "邀请你" in mail.outbox[0].body


def test_only_admins_invite(world):
    for who in (world.supervisor_a, world.agent_a1):
        with pytest.raises(Forbidden):
            invite(who)
    assert not Invitation.objects.exists() and not mail.outbox


def test_an_invitation_names_only_shops_of_the_organisation(world, admin):
    with pytest.raises(NotFound):
        invite(admin, shops=[world.shop_a1, world.shop_b1])
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x" * 250 + "@example.com"])
def test_a_bad_address_is_refused(world, admin, email):
    with pytest.raises(ServiceError) as refused:
        invite(admin, email=email)
    assert refused.value.code == "invalid_email" and refused.value.status_code == 400


def test_one_pending_invitation_per_address_and_none_for_members(world, admin):
    invite(admin, email="Twice@Example.com")
    with pytest.raises(ServiceError) as again:
        invite(admin, email="twice@example.com")
    assert again.value.code == "already_invited" and again.value.status_code == 409
    with pytest.raises(ServiceError) as member:
        invite(admin, email="ADMIN@example.com")
    assert member.value.code == "already_member"


def test_accepting_makes_a_member_with_the_role_shops_and_organisation_clock(world, admin):
    # Given an invitation as agent of shops a1 and a2 (the organisation keeps Asia/Tokyo)
    world.org_a.time_zone = "Asia/Tokyo"
    world.org_a.save()
    new = invite(admin, shops=[world.shop_a1, world.shop_a2])

    # When the invitee accepts it
    user = invitation_accept(
        token=token_of(new.link),
        username="wang.fang",
        display_name="  Wang   Fang ",
        password=GOOD_PASSWORD,
    )

    # Then they are a member with that role, name, address, shops and time zone
    member = Member.objects.get(user=user)
    assert (member.organisation_id, member.role) == (world.org_a.id, Role.AGENT)
    assert member.display_name == "Wang Fang" and member.time_zone == "Asia/Tokyo"
    assert member.language == ""  # follows the organisation's
    assert user.email == "new.agent@example.com" and user.check_password(GOOD_PASSWORD)
    assert set(ShopMembership.objects.filter(user=user).values_list("shop_account", flat=True)) == {
        world.shop_a1.id,
        world.shop_a2.id,
    }
    # The acceptance is audited by the new person, and the invitation is no longer listed
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert event.actor_id == user.pk and event.data["role"] == "agent"
    assert invitation_list(admin) == []


def test_a_link_works_once(world, admin):
    token = token_of(invite(admin).link)
    invitation_accept(token=token, username="first", display_name="", password=GOOD_PASSWORD)
    with pytest.raises(ServiceError) as again:
        invitation_accept(token=token, username="second", display_name="", password=GOOD_PASSWORD)
    assert (again.value.code, again.value.status_code) == ("invitation_used", 410)
    assert not get_user_model().objects.filter(username="second").exists()


def test_an_expired_link_does_not_work(world, admin):
    new = invite(admin)
    Invitation.objects.filter(pk=new.invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ServiceError) as expired:
        invitation_accept(
            token=token_of(new.link), username="late", display_name="", password=GOOD_PASSWORD
        )
    assert (expired.value.code, expired.value.status_code) == ("invitation_expired", 410)
    assert not get_user_model().objects.filter(username="late").exists()
    # An expired invitation no longer blocks a new one to the same address
    invite(admin)


def test_a_withdrawn_link_does_not_work(world, admin):
    new = invite(admin)
    invitation_revoke(actor=admin, invitation_id=new.invitation.pk)
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1
    with pytest.raises(ServiceError) as revoked:
        invitation_accept(
            token=token_of(new.link), username="nope", display_name="", password=GOOD_PASSWORD
        )
    assert revoked.value.code == "invitation_revoked"


def test_an_unknown_link_is_not_found(world):
    with pytest.raises(NotFound):
        invitation_accept(token="x" * 43, username="who", display_name="", password=GOOD_PASSWORD)


def test_only_admins_of_the_organisation_withdraw(world, admin):
    new = invite(admin)
    with pytest.raises(Forbidden):
        invitation_revoke(actor=world.supervisor_a, invitation_id=new.invitation.pk)
    other_admin = make_person(world.org_b, Role.ADMIN)
    with pytest.raises(NotFound):
        invitation_revoke(actor=other_admin, invitation_id=new.invitation.pk)


def test_a_taken_username_or_a_weak_password_is_refused_and_the_link_still_works(world, admin):
    token = token_of(invite(admin).link)
    with pytest.raises(ServiceError) as taken:
        invitation_accept(token=token, username="AGENT_A1", display_name="", password=GOOD_PASSWORD)
    assert (taken.value.code, taken.value.status_code) == ("username_taken", 409)
    with pytest.raises(ServiceError) as weak:
        invitation_accept(token=token, username="newbie", display_name="", password="12345678")
    assert weak.value.code == "invalid_password" and weak.value.status_code == 400
    with pytest.raises(ServiceError) as bad_name:
        invitation_accept(token=token, username="new bie", display_name="", password=GOOD_PASSWORD)
    assert bad_name.value.code == "invalid_username"
    invitation_accept(token=token, username="newbie", display_name="", password=GOOD_PASSWORD)
