"""The API tokens page in a browser, in both languages: sign in through the login page, open
the page from the navigation, make a token (its key shown once), see it listed, revoke it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import ApiToken, Member
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"nav": "API tokens", "create": "Create token", "revoke": "Revoke", "revoked": "revoked"},
    "zh-hans": {"nav": "API 令牌", "create": "创建令牌", "revoke": "吊销", "revoked": "已吊销"},
}


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_create_see_and_revoke_a_token(session, world, lang):
    words = TEXT[lang]
    # The sign-in page speaks the browser's language; once signed in, the person's own.
    Member.objects.filter(user=world.agent_a1).update(language=lang)
    page = session.page_for(lang=lang)
    errors: list[str] = page.js_errors
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    # Sign in through the login page
    page.goto(session.base + "/login/")
    page.fill("#id_username", "agent_a1")
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/inbox/**")

    # Open the tokens page from the navigation
    page.get_by_role("link", name=words["nav"]).click()
    page.wait_for_url("**/account/tokens/")
    expect(page.locator("h1")).to_have_text(words["nav"])

    # Make a token: its key is shown once, and it is listed
    page.fill("#token-name", "nightly report")
    page.get_by_role("button", name=words["create"]).click()
    key = page.locator("#new-token").input_value()
    token = ApiToken.objects.get(user=world.agent_a1)
    assert key.startswith(token.prefix)
    row = page.locator(f'#tokens-table tr[data-token="{token.pk}"]')
    expect(row).to_contain_text("nightly report")
    expect(row).to_contain_text(token.prefix)
    expect(row).to_have_attribute("data-state", "active")

    # Revoke it: the row says so, and the key no longer works
    row.get_by_role("button", name=words["revoke"]).click()
    row = page.locator(f'#tokens-table tr[data-token="{token.pk}"]')
    expect(row).to_have_attribute("data-state", "revoked")
    expect(row).to_contain_text(words["revoked"])
    expect(page.locator("#new-token")).to_have_count(0)
    response = page.request.get(
        session.base + "/api/v1/me/", headers={"Authorization": f"Token {key}"}
    )
    assert response.status == 401
    assert errors == []
    page.context.close()
