"""The management pages in a browser, in both languages: an admin connects a TikTok shop (the
simulator's authorisation code), edits and disconnects it; invites a person who joins through
the link and whose open inbox loses its socket the moment the admin deactivates them; and keeps
the organisation's settings. English runs write docs/screenshots/manage-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import Member, Role, ShopAccount
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import make_person
from tests.inbox.platform_world import APP_KEY, APP_SECRET

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-passphrase-42"

TEXT = {
    "en": {
        "settings": "Settings",
        "shops": "Shop accounts",
        "connect": "Connect a TikTok shop",
        "connect_button": "Connect",
        "connected": "Connected: Seller SG.",
        "save": "Save",
        "saved": "Shop account saved.",
        "disconnect": "Disconnect",
        "invite": "Invite",
        "join": "Join",
        "deactivate": "Deactivate",
        "org_saved": "Organisation settings saved.",
        "two_factor_first": "Turn on two-factor sign-in for yourself first",
    },
    "zh-hans": {
        "settings": "管理",
        "shops": "店铺账号",
        "connect": "连接 TikTok 店铺",
        "connect_button": "连接",
        "connected": "已连接：Seller SG。",
        "save": "保存",
        "saved": "店铺账号已保存。",
        "disconnect": "断开连接",
        "invite": "邀请",
        "join": "加入",
        "deactivate": "停用",
        "org_saved": "组织设置已保存。",
        "two_factor_first": "请先为自己开启两步验证登录",
    },
}


@pytest.fixture
def admin(world):
    return make_person(world.org_a, Role.ADMIN, username="admin_a")


def speaking(user, lang: str):
    """The person chose ``lang`` (their own language wins over the browser's)."""
    Member.objects.filter(user=user).update(language=lang)
    return user


def shot(page, name: str, lang: str) -> None:
    if lang == "en":
        page.screenshot(path=str(SCREENSHOTS / f"manage-{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_connect_edit_and_disconnect_a_shop(session, world, platform, admin, lang):
    words = TEXT[lang]
    # Given a seller who authorised their Singapore shop for our app on TikTok Shop
    platform.sim.add_shop(APP_KEY, shop_id="9101", name="Seller SG", region="SG")
    code = platform.sim.issue_auth_code(APP_KEY, ["9101"])
    page = session.page_for(speaking(admin, lang), lang=lang)

    # When the admin opens Settings, then "Connect a TikTok shop", and enters the code
    page.goto(session.base + "/inbox/")
    page.get_by_role("link", name=words["settings"], exact=True).click()
    page.wait_for_url("**/inbox/manage/shops/")
    expect(page.locator("h1")).to_have_text(words["shops"])
    page.get_by_role("link", name=words["connect"]).first.click()
    page.fill("#id_app_key", APP_KEY)
    page.fill("#id_app_secret", APP_SECRET)
    page.fill("#id_auth_code", code)
    page.get_by_role("button", name=words["connect_button"], exact=True).click()

    # Then the shop is listed, connected, with its region's time zone
    page.wait_for_url("**/inbox/manage/shops/")
    expect(page.get_by_role("status")).to_contain_text(words["connected"])
    shop = ShopAccount.objects.get(platform_shop_id="9101")
    assert shop.organisation_id == world.org_a.id and shop.time_zone == "Asia/Singapore"
    row = page.locator(f'#shops-table tr[data-shop="{shop.id}"]')
    expect(row).to_contain_text("Seller SG")
    shot(page, "shops", lang)

    # When the admin opens it and moves it to another time zone
    row.get_by_role("link", name="Seller SG").click()
    expect(page.locator("#shop-name")).to_have_text("Seller SG")
    page.select_option("#id_time_zone", "Asia/Kuala_Lumpur")
    page.locator("#shop-form").get_by_role("button", name=words["save"]).click()
    expect(page.get_by_role("status")).to_have_text(words["saved"])
    shop.refresh_from_db()
    assert shop.time_zone == "Asia/Kuala_Lumpur"
    shot(page, "shop", lang)

    # When they disconnect it, confirming on the next page
    page.locator("#disconnect-shop").click()
    page.wait_for_url(f"**/inbox/manage/shops/{shop.id}/disconnect/")
    shop.refresh_from_db()
    assert shop.is_active  # asking changed nothing
    page.get_by_role("button", name=words["disconnect"], exact=True).click()

    # Then it is disconnected, its history kept
    page.wait_for_url(f"**/inbox/manage/shops/{shop.id}/")
    expect(page.locator('.manage-head [data-state="disconnected"]')).to_be_visible()
    shop.refresh_from_db()
    assert not shop.is_active
    assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_invite_join_and_deactivate_reaches_the_open_inbox(session, world, admin, lang):
    words = TEXT[lang]
    page = session.page_for(speaking(admin, lang), lang=lang)

    # When the admin invites someone as an agent of shop a1
    page.goto(session.base + "/inbox/manage/people/")
    page.fill("#id_email", "new.agent@example.com")
    page.select_option("#id_role", "agent")
    page.locator(f'#invite-form input[name="shops"][value="{world.shop_a1.id}"]').check()
    page.locator("#invite-submit").click()

    # Then the page shows the link to pass on
    link = page.locator("#invitation-link").input_value()
    assert link.startswith(session.base + "/invitation/")
    expect(page.locator('button[data-copy="invitation-link"]')).to_be_visible()
    shot(page, "people", lang)

    # When the invitee opens the link in their own browser and chooses how to sign in
    invitee = session.page_for(lang=lang)
    invitee.goto(link)
    invitee.fill("#id_username", "wang.fang")
    invitee.fill("#id_display_name", "Wang Fang")
    invitee.fill("#id_password", PASSWORD)
    invitee.fill("#id_password2", PASSWORD)
    invitee.get_by_role("button", name=words["join"], exact=True).click()

    # Then they are in their inbox, live
    invitee.wait_for_url("**/inbox/**")
    expect(invitee.locator("#live-state")).to_have_attribute("data-state", "live")
    member = Member.objects.get(user__username="wang.fang")
    assert member.role == Role.AGENT and member.display_name == "Wang Fang"

    # When the admin deactivates them from the People page
    page.goto(session.base + "/inbox/manage/people/")
    page.locator(f'#people-table tr[data-user="{member.user_id}"] a').click()
    expect(page.locator("#person-name")).to_have_text("Wang Fang")
    page.get_by_role("button", name=words["deactivate"], exact=True).click()
    expect(page.locator('.manage-head [data-active="0"]')).to_be_visible()

    # Then the invitee's open inbox loses its socket at once (no reload, no timer)
    expect(invitee.locator("#live-state")).to_have_attribute("data-state", "offline", timeout=5000)
    assert invitee.js_errors == [] and page.js_errors == []
    invitee.context.close()


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_organisation_page(session, world, admin, lang):
    words = TEXT[lang]
    page = session.page_for(speaking(admin, lang), lang=lang)
    page.goto(session.base + "/inbox/manage/organisation/")

    # Requiring two-factor sign-in without using it: refused, and the page says what to do
    page.locator("#id_require_two_factor").check()
    page.locator("#organisation-submit").click()
    expect(page.locator("#manage-error")).to_contain_text(words["two_factor_first"])

    # The time zone and assign-on-reply are saved
    page.select_option("#id_time_zone", "Asia/Shanghai")
    page.locator("#id_require_two_factor").uncheck()
    page.locator("#id_assign_on_reply").check()
    page.locator("#organisation-submit").click()
    expect(page.get_by_role("status")).to_have_text(words["org_saved"])
    world.org_a.refresh_from_db()
    assert world.org_a.time_zone == "Asia/Shanghai" and world.org_a.assign_on_reply
    assert not world.org_a.require_two_factor
    shot(page, "organisation", lang)

    # An agent reads the settings, and has no form to change them
    agent = session.page_for(world.agent_a1, lang=lang)
    agent.goto(session.base + "/inbox/manage/")
    agent.wait_for_url("**/inbox/manage/organisation/")
    expect(agent.locator("#organisation-facts")).to_contain_text("Asia/Shanghai")
    expect(agent.locator("#organisation-form")).to_have_count(0)
    assert page.js_errors == [] and agent.js_errors == []  # type: ignore[attr-defined]
