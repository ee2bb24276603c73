"""Revealing a masked value (POST /api/v1/reveal/, the {% masked %} tag) and giving the
permission on the person page: who may, what is answered, and what the audit log keeps."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from inbox.models import Order, Role, ShopMembership
from monitoring.models import AuditEvent
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

PHONE = "(+1)5550104821"
EMAIL = "lina.wong@gmail.com"
ADDRESS = (
    '{"full_address": "88 Harbour Rd, Austin, TX 78701", "city": "Austin",'
    ' "region": "Texas", "region_code": "US", "postal_code": "78701"}'
)


@pytest.fixture
def order(world):
    """An order of a buyer who chats with shop a1, its recipient and the buyer's profile
    carrying personal values."""
    conversation = conversation_with_messages(world.shop_a1, buyer="lina_shops")
    customer = conversation.customer
    customer.real_name, customer.phone, customer.email = "Lina Wong", PHONE, EMAIL
    customer.save()
    now = timezone.now()
    return Order.objects.create(
        organisation=world.org_a,
        shop_account=world.shop_a1,
        platform_order_id="576000000000077001",
        customer=customer,
        status="DELIVERED",
        currency="USD",
        total_amount="24.00",
        recipient_name="Lina Wong",
        recipient_phone=PHONE,
        recipient_address=ADDRESS,
        recipient_email=EMAIL,
        platform_created_at=now,
        platform_updated_at=now,
        fetched_at=now,
    )


def grant(user, shop) -> None:
    ShopMembership.objects.update_or_create(
        user=user, shop_account=shop, defaults={"can_reveal": True}
    )


def reveal(user, **body):
    client = Client()
    client.force_login(user)
    return client.post("/api/v1/reveal/", body, content_type="application/json")


def test_an_agent_with_the_permission_reveals_an_orders_phone_and_it_is_audited(world, order):
    # Given agent_a1 may reveal in shop a1
    grant(world.agent_a1, world.shop_a1)
    # When they reveal the recipient's phone with a reason
    response = reveal(
        world.agent_a1,
        subject="order",
        id=order.id,
        field="recipient_phone",
        reason="Courier needs to call the buyer",
    )
    # Then they get the value, not cached
    assert response.status_code == 200, response.content
    assert response.json() == {
        "subject": "order",
        "id": order.id,
        "field": "recipient_phone",
        "value": PHONE,
    }
    assert "no-store" in response["Cache-Control"]
    # And the audit log has who, what and why, never the value
    event = AuditEvent.objects.get(action="customer.revealed")
    assert event.actor_id == world.agent_a1.id
    assert event.shop_account_id == world.shop_a1.id
    assert event.data["field"] == "recipient_phone"
    assert event.data["subject_id"] == order.id
    assert event.data["reason"] == "Courier needs to call the buyer"
    assert "5550104821" not in json.dumps(event.data)


def test_an_address_is_revealed_readable(world, order):
    grant(world.agent_a1, world.shop_a1)
    response = reveal(
        world.agent_a1, subject="order", id=order.id, field="recipient_address", reason="redo"
    )
    assert response.json()["value"] == "88 Harbour Rd, Austin, TX 78701"


def test_a_customers_fields_are_revealed_in_a_shop_the_customer_concerns(world, order):
    grant(world.agent_a1, world.shop_a1)
    customer_id = order.customer_id
    for field, value in (
        ("phone", PHONE),
        ("email", EMAIL),
        ("real_name", "Lina Wong"),
        ("addresses", "88 Harbour Rd, Austin, TX 78701"),
    ):
        response = reveal(
            world.agent_a1, subject="customer", id=customer_id, field=field, reason="verify"
        )
        assert response.status_code == 200, (field, response.content)
        assert response.json()["value"] == value
    assert AuditEvent.objects.filter(action="customer.revealed").count() == 4


def test_without_the_permission_it_is_refused_and_nothing_is_audited(world, order):
    # Supervisors see every shop, but reveal only where given the permission
    for person in (world.agent_a1, world.supervisor_a):
        response = reveal(
            person, subject="order", id=order.id, field="recipient_phone", reason="just curious"
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "reveal_forbidden"
        assert PHONE not in response.content.decode()
    assert not AuditEvent.objects.filter(action="customer.revealed").exists()


def test_the_permission_in_another_shop_does_not_reveal_this_one(world, order):
    # agent_a2 may reveal in a2 and may not see shop a1 at all: 404, as for nothing
    grant(world.agent_a2, world.shop_a2)
    response = reveal(
        world.agent_a2, subject="order", id=order.id, field="recipient_phone", reason="check"
    )
    assert response.status_code == 404
    # a supervisor who may reveal in a2 only sees a1 but may not reveal there
    grant(world.supervisor_a, world.shop_a2)
    response = reveal(
        world.supervisor_a, subject="order", id=order.id, field="recipient_phone", reason="chk"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["agent_a2", "agent_b", "supervisor_b"])
def test_outsiders_get_404_even_with_the_permission_elsewhere(world, order, who):
    person = getattr(world, who)
    for membership in ShopMembership.objects.filter(user=person):
        grant(person, membership.shop_account)
    for subject, subject_id, field in (
        ("order", order.id, "recipient_phone"),
        ("customer", order.customer_id, "phone"),
        ("order", 999_999_999, "recipient_phone"),
    ):
        response = reveal(person, subject=subject, id=subject_id, field=field, reason="check")
        assert response.status_code == 404, (who, subject)
        assert PHONE not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"reason": ""}, "invalid"),
        ({"reason": "  a "}, "reason_required"),
        ({"field": "display_name"}, "invalid"),
        ({"field": "phone"}, "invalid_field"),  # a customer's field asked of an order
        ({"subject": "message"}, "invalid"),
        ({"id": "x"}, "invalid"),
        ({"id": 2**70}, "invalid"),
    ],
)
def test_bad_input_is_a_clear_400_and_reveals_nothing(world, order, body, code):
    grant(world.agent_a1, world.shop_a1)
    request = {"subject": "order", "id": order.id, "field": "recipient_phone", "reason": "ok!"}
    response = reveal(world.agent_a1, **{**request, **body})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["message"]
    if code != "invalid":
        assert error["code"] == code
    assert PHONE not in response.content.decode()
    assert not AuditEvent.objects.filter(action="customer.revealed").exists()


def test_the_panel_shows_the_reveal_button_only_to_people_who_may_reveal(world, order):
    conversation = order.customer.conversations.get()
    client = Client()
    client.force_login(world.agent_a1)
    html = client.get(f"/inbox/c/{conversation.id}/orders/").content.decode()
    assert "+1 ***-***-4821" in html and "l***@gmail.com" in html and "Li**" in html
    assert "data-reveal" not in html and "5550104821" not in html
    grant(world.agent_a1, world.shop_a1)
    html = client.get(f"/inbox/c/{conversation.id}/orders/").content.decode()
    assert html.count("data-reveal ") == 4  # name, phone, place, e-mail
    assert f'data-reveal-id="{order.id}"' in html and 'data-reveal-field="recipient_phone"' in html
    assert "5550104821" not in html and "Harbour" not in html
    # and the workspace carries the reason dialog and its script
    page = client.get("/inbox/").content.decode()
    assert 'id="reveal-dialog"' in page and "inbox/reveal.js" in page


def test_an_admin_grants_and_withdraws_the_permission_on_the_person_page(world):
    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    client = Client()
    client.force_login(admin)
    url = f"/inbox/manage/people/{world.agent_a2.id}/"
    page = client.get(url).content.decode()
    assert 'id="reveal-permission-form"' in page
    # When the admin ticks shop a2 (agent_a2 works a2 and a3)
    response = client.post(url, {"action": "reveal", "reveal": [str(world.shop_a2.id)]})
    assert response.status_code == 302
    rows = dict(
        ShopMembership.objects.filter(user=world.agent_a2).values_list(
            "shop_account_id", "can_reveal"
        )
    )
    assert rows == {world.shop_a2.id: True, world.shop_a3.id: False}
    assert AuditEvent.objects.filter(action="membership.reveal_granted").count() == 1
    # A shop they have no access to is not theirs to reveal in
    response = client.post(url, {"action": "reveal", "reveal": [str(world.shop_a1.id)]})
    assert response.status_code == 404
    # Unticking withdraws it
    client.post(url, {"action": "reveal"})
    assert not ShopMembership.objects.filter(user=world.agent_a2, can_reveal=True).exists()
    assert AuditEvent.objects.filter(action="membership.reveal_revoked").count() == 1


def test_only_admins_give_the_permission(world):
    client = Client()
    client.force_login(world.supervisor_a)
    url = f"/inbox/manage/people/{world.agent_a1.id}/"
    response = client.post(url, {"action": "reveal", "reveal": [str(world.shop_a1.id)]})
    assert response.status_code == 403
    assert not ShopMembership.objects.filter(can_reveal=True).exists()


def test_the_tag_masks_a_customers_addresses_and_shows_nothing_for_no_value(world, order):
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = world.agent_a1
    template = Template(
        '{% load reveal %}<p>{% masked "customer" c.id "addresses" addresses %}</p>'
        '<p>{% masked "customer" c.id "phone" "" %}</p>'
        '<p>{% masked "customer" c.id "display_name" "lina_shops" %}</p>'
    )
    context = {"c": order.customer, "addresses": [ADDRESS, ADDRESS, "not json"]}
    html = template.render(Context({"request": request, **context}))
    assert ">Austin, Texas, US; ***<" in html  # one place per distinct address
    assert "Harbour" not in html and "78701" not in html
    assert '<span class="masked" data-masked-field="phone"></span>' in html
    assert "lina_shops" not in html  # a field that is not a personal one is never shown raw


def test_reveal_buttons_cost_no_query_per_order(world, order):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    grant(world.agent_a1, world.shop_a1)
    conversation = order.customer.conversations.get()
    client = Client()
    client.force_login(world.agent_a1)
    url = f"/inbox/c/{conversation.id}/orders/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(url).content.decode()
        assert "data-reveal " in html
        return len(ctx.captured_queries)

    one = queries()
    # Given four more orders of the buyer in the shop
    fields = ("status", "currency", "total_amount", "platform_created_at", "platform_updated_at")
    for n in range(4):
        Order.objects.create(
            organisation=world.org_a,
            shop_account=world.shop_a1,
            customer=order.customer,
            platform_order_id=f"57600000000007710{n}",
            recipient_name="Lina Wong",
            recipient_phone=PHONE,
            fetched_at=order.fetched_at,
            **{f: getattr(order, f) for f in fields},
        )
    # Then the panel shows five orders with their buttons for the same number of queries
    assert queries() == one
