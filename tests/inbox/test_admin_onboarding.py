"""Connecting shops from the Django admin, through the simulator over HTTP."""

from __future__ import annotations

import pytest
from django.db import connection

from inbox.models import ShopAccount
from tests.factories import OrganisationFactory, UserFactory
from tests.inbox.platform_world import APP_KEY, APP_SECRET, start_platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_only(settings):
    p = start_platform(settings)
    yield p
    p.server.stop()
    p.sim.close()


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_connect_form_onboards_every_authorised_shop(platform_only, admin_client):
    org = OrganisationFactory(slug="seller")
    sim = platform_only.sim
    sim.add_shop(APP_KEY, shop_id="8001", name="Seller US", region="US")
    sim.add_shop(APP_KEY, shop_id="8002", name="Seller TH", region="TH")
    code = sim.issue_auth_code(APP_KEY, ["8001", "8002"])
    url = "/admin/inbox/shopaccount/connect-tiktok/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {"organisation": org.id, "app_key": APP_KEY, "app_secret": APP_SECRET, "auth_code": code},
    )
    assert response.status_code == 302
    shops = {s.platform_shop_id: s for s in ShopAccount.objects.filter(organisation=org)}
    assert set(shops) == {"8001", "8002"}
    assert shops["8002"].time_zone == "Asia/Bangkok"
    # the operator who connected them is named in the audit log
    from django.contrib.auth import get_user_model

    from monitoring.models import AuditEvent

    root = get_user_model().objects.get(username="root")
    onboarded = AuditEvent.objects.filter(action="shop_account.onboarded")
    assert sorted(e.actor_id for e in onboarded) == [root.pk, root.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM inbox_shopaccount WHERE id = %s", [shops["8001"].id]
        )
        assert APP_SECRET not in cursor.fetchone()[0]
    # the code is single use: a second try shows the platform's refusal, writes nothing
    again = admin_client.post(
        url,
        {"organisation": org.id, "app_key": APP_KEY, "app_secret": APP_SECRET, "auth_code": code},
    )
    assert again.status_code == 200
    assert b"errornote" in again.content or b"errorlist" in again.content
    assert ShopAccount.objects.filter(organisation=org).count() == 2


def test_rediscover_action_picks_up_renamed_shops(platform_only, admin_client):
    org = OrganisationFactory(slug="seller2")
    sim = platform_only.sim
    sim.add_shop(APP_KEY, shop_id="8101", name="Old Name", region="GB")
    code = sim.issue_auth_code(APP_KEY, ["8101"])
    admin_client.post(
        "/admin/inbox/shopaccount/connect-tiktok/",
        {"organisation": org.id, "app_key": APP_KEY, "app_secret": APP_SECRET, "auth_code": code},
    )
    shop = ShopAccount.objects.get(platform_shop_id="8101")
    ShopAccount.objects.filter(pk=shop.pk).update(name="Stale")
    response = admin_client.post(
        "/admin/inbox/shopaccount/",
        {"action": "rediscover", "_selected_action": [shop.id]},
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.name == "Old Name"


def test_connect_form_needs_staff(client, db):
    response = client.get("/admin/inbox/shopaccount/connect-tiktok/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
