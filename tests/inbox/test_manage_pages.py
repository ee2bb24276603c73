"""The management pages over HTTP (Django's test client): who sees which page, the forms do
what they say, refusals are a clear 4xx on the page, both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from inbox.models import Invitation, Member, Organisation, Role, ShopAccount
from monitoring.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

GOOD_PASSWORD = "a-long-and-unusual-passphrase-42"


def signed_in(user, lang: str = "en") -> Client:
    """A client signed in as ``user``, who chose ``lang`` (a member's own language wins over
    the browser's, scrm.middleware.UserLanguageMiddleware)."""
    Member.objects.filter(user=user).update(language=lang)
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


def html(response) -> str:
    return response.content.decode()


# --- who sees what ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (
            "admin",
            {"shops": 200, "connect": 200, "shop": 200, "disconnect": 200, "people": 200,
             "person": 200, "organisation": 200},
        ),
        (
            "supervisor_a",
            {"shops": 200, "connect": 403, "shop": 200, "disconnect": 403, "people": 403,
             "person": 403, "organisation": 200},
        ),
        (
            "agent_a1",
            {"shops": 403, "connect": 403, "shop": 403, "disconnect": 403, "people": 403,
             "person": 403, "organisation": 200},
        ),
    ],
)  # fmt: skip
def test_each_role_sees_its_pages(world, admin, who, expected):
    user = admin if who == "admin" else getattr(world, who)
    client = signed_in(user)
    urls = {
        "shops": "/inbox/manage/shops/",
        "connect": "/inbox/manage/shops/connect/",
        "shop": f"/inbox/manage/shops/{world.shop_a1.id}/",
        "disconnect": f"/inbox/manage/shops/{world.shop_a1.id}/disconnect/",
        "people": "/inbox/manage/people/",
        "person": f"/inbox/manage/people/{world.agent_a1.pk}/",
        "organisation": "/inbox/manage/organisation/",
    }
    got = {name: client.get(url).status_code for name, url in urls.items()}
    assert got == expected


def test_settings_leads_each_role_to_its_first_page(world, admin):
    assert signed_in(admin).get("/inbox/manage/")["Location"] == "/inbox/manage/shops/"
    assert signed_in(world.supervisor_a).get("/inbox/manage/")["Location"] == (
        "/inbox/manage/shops/"
    )
    assert signed_in(world.agent_a1).get("/inbox/manage/")["Location"] == (
        "/inbox/manage/organisation/"
    )
    assert Client().get("/inbox/manage/").status_code == 302  # to the sign-in


def test_the_navigation_has_settings_in_both_languages(world):
    assert ">Settings</a>" in html(signed_in(world.agent_a1).get("/inbox/"))
    assert ">管理</a>" in html(signed_in(world.agent_a1, "zh-hans").get("/inbox/"))


def test_another_organisations_shop_and_person_are_not_found(world, admin):
    client = signed_in(admin)
    for url in (
        f"/inbox/manage/shops/{world.shop_b1.id}/",
        f"/inbox/manage/shops/{world.shop_b1.id}/disconnect/",
        f"/inbox/manage/people/{world.agent_b.pk}/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"action": "deactivate", "name": "x"}).status_code == 404, url
    world.shop_b1.refresh_from_db()
    world.agent_b.refresh_from_db()
    assert world.shop_b1.is_active and world.agent_b.is_active


# --- shop accounts ----------------------------------------------------------------------------
def test_the_shop_list_shows_each_shop_with_its_state(world, admin):
    ShopAccount.objects.filter(pk=world.shop_a3.pk).update(is_active=False)
    page = html(signed_in(world.supervisor_a).get("/inbox/manage/shops/"))
    assert "A1 US" in page and "A3 MY" in page and "B1 US" not in page
    assert f'data-shop="{world.shop_a3.id}" data-state="disconnected"' in page
    assert 'id="connect-shop"' not in page  # supervisors read only
    assert 'id="connect-shop"' in html(signed_in(admin).get("/inbox/manage/shops/"))


def test_an_admin_edits_a_shop_on_its_page(world, admin):
    client = signed_in(admin)
    url = f"/inbox/manage/shops/{world.shop_a1.id}/"
    response = client.post(
        url, {"name": "A1 USA", "time_zone": "America/Chicago", "assignment_mode": "least_open"}
    )
    assert response.status_code == 302
    world.shop_a1.refresh_from_db()
    assert (world.shop_a1.name, world.shop_a1.time_zone) == ("A1 USA", "America/Chicago")
    assert "Shop account saved." in html(client.get(url))
    # A bad time zone: the page again, with the reason, the typed values kept
    bad = client.post(url, {"name": "Typed", "time_zone": "Nowhere", "assignment_mode": "manual"})
    assert bad.status_code == 400
    assert "Choose a time zone from the list." in html(bad) and 'value="Typed"' in html(bad)


def test_a_supervisor_cannot_post_shop_changes(world):
    response = signed_in(world.supervisor_a).post(
        f"/inbox/manage/shops/{world.shop_a1.id}/",
        {"name": "Mine now", "time_zone": "UTC", "assignment_mode": "manual"},
    )
    assert response.status_code == 403
    world.shop_a1.refresh_from_db()
    assert world.shop_a1.name == "A1 US"


def test_disconnect_asks_first_then_disconnects(world, admin):
    client = signed_in(admin)
    url = f"/inbox/manage/shops/{world.shop_a1.id}/disconnect/"
    confirm = html(client.get(url))
    assert "Disconnect A1 US?" in confirm and 'id="confirm-disconnect"' in confirm
    world.shop_a1.refresh_from_db()
    assert world.shop_a1.is_active  # asking changed nothing
    assert client.post(url).status_code == 302
    world.shop_a1.refresh_from_db()
    assert not world.shop_a1.is_active
    shop_page = html(client.get(f"/inbox/manage/shops/{world.shop_a1.id}/"))
    assert 'data-state="disconnected"' in shop_page


def test_connect_shows_the_platforms_refusal(world, admin, settings):
    from tests.inbox.platform_world import APP_KEY, APP_SECRET, start_platform

    platform = start_platform(settings)
    try:
        response = signed_in(admin).post(
            "/inbox/manage/shops/connect/",
            {"app_key": APP_KEY, "app_secret": APP_SECRET, "auth_code": "SIMAC_wrong"},
        )
    finally:
        platform.server.stop()
        platform.sim.close()
    assert response.status_code == 400
    page = html(response)
    assert "refused this authorisation code" in page and APP_SECRET not in page


# --- people -----------------------------------------------------------------------------------
def test_invite_then_join_through_the_link(world, admin):
    # When the admin invites someone as an agent of shop a2
    client = signed_in(admin)
    response = client.post(
        "/inbox/manage/people/",
        {"action": "invite", "email": "chen@example.com", "role": "agent",
         "shops": [str(world.shop_a2.id)]},
    )  # fmt: skip

    # Then the page shows the link once (never cached), and it was e-mailed
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = html(response)
    link = page.split('id="invitation-link" class="key" readonly value="', 1)[1].split('"')[0]
    assert link.startswith("http://testserver/invitation/")
    assert link in mail.outbox[0].body
    assert "chen@example.com" in html(client.get("/inbox/manage/people/"))
    assert link not in html(client.get("/inbox/manage/people/"))

    # When the invitee opens it and chooses a username and password
    invitee = Client()
    path = link.removeprefix("http://testserver")
    form = invitee.get(path)
    assert form.status_code == 200 and form["Referrer-Policy"] == "same-origin"
    assert f"Join {world.org_a.name}" in html(form)
    mismatch = invitee.post(
        path,
        {"username": "chen", "display_name": "Chen", "password": GOOD_PASSWORD, "password2": "x"},
    )
    assert mismatch.status_code == 400 and "The two passwords differ." in html(mismatch)
    joined = invitee.post(
        path,
        {"username": "chen", "display_name": "Chen Jie", "password": GOOD_PASSWORD,
         "password2": GOOD_PASSWORD},
    )  # fmt: skip

    # Then they are signed in, a member of A working shop a2
    assert joined.status_code == 302
    assert invitee.get("/inbox/").status_code == 200
    member = Member.objects.get(user__username="chen")
    assert member.display_name == "Chen Jie" and member.role == Role.AGENT
    assert list(member.user.shop_memberships.values_list("shop_account", flat=True)) == [
        world.shop_a2.id
    ]
    # And the link is spent
    again = Client().get(path)
    assert again.status_code == 410 and "used already" in html(again)


def test_an_unknown_or_expired_link(world, admin):
    assert Client().get("/invitation/not-a-real-token/").status_code == 404
    client = signed_in(admin)
    page = html(
        client.post("/inbox/manage/people/", {"action": "invite", "email": "x@example.com",
                                              "role": "agent"})
    )  # fmt: skip
    path = page.split('value="http://testserver', 1)[1].split('"')[0]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = Client().get(path)
    assert expired.status_code == 410 and "expired" in html(expired)
    assert Client().post(path, {"username": "late", "password": GOOD_PASSWORD,
                                "password2": GOOD_PASSWORD}).status_code == 410  # fmt: skip


def test_a_signed_in_person_is_asked_to_log_out_before_joining(world, admin):
    page = html(
        signed_in(admin).post(
            "/inbox/manage/people/", {"action": "invite", "email": "y@example.com", "role": "agent"}
        )
    )
    path = page.split('value="http://testserver', 1)[1].split('"')[0]
    response = signed_in(world.agent_a1).post(
        path, {"username": "sneaky", "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    )
    assert response.status_code == 200 and 'id="signed-in"' in html(response)
    assert not Member.objects.filter(user__username="sneaky").exists()


def test_invite_refusals_are_shown_on_the_page(world, admin):
    client = signed_in(admin)
    bad = client.post(
        "/inbox/manage/people/", {"action": "invite", "email": "nope", "role": "agent"}
    )
    assert bad.status_code == 400 and "Enter a valid e-mail address." in html(bad)
    unknown = client.post("/inbox/manage/people/", {"action": "dance"})
    assert unknown.status_code == 400
    foreign = client.post(
        "/inbox/manage/people/",
        {"action": "invite", "email": "z@example.com", "role": "agent",
         "shops": [str(world.shop_b1.id)]},
    )  # fmt: skip
    assert foreign.status_code == 404
    assert not Invitation.objects.exists()


def test_withdraw_an_invitation_from_the_page(world, admin):
    client = signed_in(admin)
    client.post("/inbox/manage/people/", {"action": "invite", "email": "w@example.com",
                                          "role": "agent"})  # fmt: skip
    invitation = Invitation.objects.get()
    response = client.post(
        "/inbox/manage/people/", {"action": "revoke", "invitation": str(invitation.pk)}
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "w@example.com" not in html(client.get("/inbox/manage/people/"))


def test_the_person_page_changes_role_shops_and_access(world, admin):
    client = signed_in(admin)
    url = f"/inbox/manage/people/{world.agent_a2.pk}/"
    assert client.post(url, {"action": "role", "role": "supervisor"}).status_code == 302
    assert Member.objects.get(user=world.agent_a2).role == Role.SUPERVISOR
    shops = client.post(url, {"action": "shops", "shops": [str(world.shop_a1.id)]})
    assert shops.status_code == 302
    assert list(world.agent_a2.shop_memberships.values_list("shop_account", flat=True)) == [
        world.shop_a1.id
    ]
    assert client.post(url, {"action": "deactivate"}).status_code == 302
    world.agent_a2.refresh_from_db()
    assert not world.agent_a2.is_active
    assert 'id="reactivate"' in html(client.get(url))
    assert client.post(url, {"action": "reactivate"}).status_code == 302
    world.agent_a2.refresh_from_db()
    assert world.agent_a2.is_active
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"member.role_changed", "membership.created", "membership.deleted",
            "user.deactivated", "user.reactivated"} <= actions  # fmt: skip


def test_an_admin_cannot_demote_or_deactivate_themselves_on_the_page(world, admin):
    client = signed_in(admin)
    url = f"/inbox/manage/people/{admin.pk}/"
    page = html(client.get(url))
    assert 'id="deactivate"' not in page and 'id="role-submit"' not in page
    refused = client.post(url, {"action": "role", "role": "agent"})
    assert refused.status_code == 409 and "You cannot change your own role." in html(refused)
    assert client.post(url, {"action": "deactivate"}).status_code == 409
    assert Member.objects.get(user=admin).role == Role.ADMIN


def test_bad_shop_ids_on_the_person_page_are_a_400(world, admin):
    client = signed_in(admin)
    url = f"/inbox/manage/people/{world.agent_a1.pk}/"
    for bad in ("x", "-1", "99999999999999999999999", "\x00"):
        assert client.post(url, {"action": "shops", "shops": [bad]}).status_code == 400, bad


# --- organisation -----------------------------------------------------------------------------
def test_everyone_reads_the_organisation_only_admins_change_it(world, admin):
    agent_page = html(signed_in(world.agent_a1).get("/inbox/manage/organisation/"))
    assert 'id="organisation-facts"' in agent_page and 'id="organisation-form"' not in agent_page
    assert (
        signed_in(world.supervisor_a)
        .post("/inbox/manage/organisation/", {"name": "X", "time_zone": "UTC", "language": "en"})
        .status_code
        == 403
    )
    response = signed_in(admin).post(
        "/inbox/manage/organisation/",
        {"name": "Sunny Home", "time_zone": "Asia/Shanghai", "language": "zh-hans",
         "assign_on_reply": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    org = Organisation.objects.get(pk=world.org_a.pk)
    assert (org.name, org.time_zone, org.language, org.assign_on_reply) == (
        "Sunny Home", "Asia/Shanghai", "zh-hans", True)  # fmt: skip


def test_requiring_two_factor_without_it_is_explained(world, admin):
    client = signed_in(admin)
    page = html(client.get("/inbox/manage/organisation/"))
    assert 'id="own-two-factor-hint"' in page and 'href="/account/two-factor/"' in page
    refused = client.post(
        "/inbox/manage/organisation/",
        {"name": world.org_a.name, "time_zone": "UTC", "language": "en",
         "require_two_factor": "on"},
    )  # fmt: skip
    assert refused.status_code == 409
    assert "Turn on two-factor sign-in for yourself first" in html(refused)
    assert not Organisation.objects.get(pk=world.org_a.pk).require_two_factor


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/inbox/manage/shops/", ["店铺账号", "连接 TikTok 店铺"]),
        ("/inbox/manage/people/", ["邀请", "成员"]),
        ("/inbox/manage/organisation/", ["时区", "要求主管和管理员使用两步验证登录"]),
    ],
)
def test_the_pages_speak_chinese(world, admin, url, words):
    page = html(signed_in(admin, "zh-hans").get(url))
    for word in words:
        assert word in page, word


def test_the_shop_page_names_failed_actions_by_kind(world, admin):
    from inbox.models import OutboxAction

    for kind in ("reply", "mark_read", "mark_read"):
        OutboxAction.objects.create(
            kind=kind, organisation=world.org_a, shop_account=world.shop_a1, state="failed"
        )
    page = html(signed_in(admin).get(f"/inbox/manage/shops/{world.shop_a1.id}/"))
    assert "Replies: 1" in page and "Marking read: 2" in page
    zh = html(signed_in(admin, "zh-hans").get(f"/inbox/manage/shops/{world.shop_a1.id}/"))
    assert "标记已读: 2" in zh
