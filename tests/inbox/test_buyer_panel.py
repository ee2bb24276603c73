"""The buyer panel's after-sales cards and orders, the decision form's answers, and the case
page: what an agent sees and who may see it (pages through the Django test client)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from inbox.models import AfterSalesCase, AfterSalesDecision, Member, Order, OutboxAction
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

DEADLINE = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)
IMG = "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/evidence-1.jpeg"


@pytest.fixture
def scene(world, settings):
    settings.SCRM_IMAGE_HOSTS = ["*.ibyteimg.com"]
    shop = world.shop_a1
    shop.time_zone = "America/Los_Angeles"
    shop.save(update_fields=["time_zone"])
    Member.objects.filter(user=world.agent_a1).update(time_zone="Asia/Shanghai")
    conversation = conversation_with_messages(shop, buyer="Emily R.")
    customer = conversation.customer
    now = timezone.now()
    case = AfterSalesCase.objects.create(
        organisation=shop.organisation,
        shop_account=shop,
        family="return",
        platform_case_id="4035000000000001",
        kind="return_and_refund",
        platform_type="RETURN_AND_REFUND",
        platform_status="RETURN_OR_REFUND_REQUEST_PENDING",
        stage="needs_decision",
        reason_code="ecom_order_delivered_refund_and_return_reason_damaged",
        buyer_reason="The plate arrived cracked in two.",
        lines=[
            {
                "sku_id": "1729001",
                "seller_sku": "PLATE-W",
                "product_name": "Stoneware plate",
                "sku_name": "White",
                "refund_total": "12.00",
                "currency": "USD",
            },
            {
                "sku_id": "1729001",
                "seller_sku": "PLATE-W",
                "product_name": "Stoneware plate",
                "sku_name": "White",
                "refund_total": "12.00",
                "currency": "USD",
            },
        ],
        amounts={"refund_total": "24.00", "currency": "USD"},
        seller_action="SELLER_RESPOND_RETURN",
        seller_deadline=DEADLINE,
        order_platform_id="576000000000009001",
        customer=customer,
        evidence=[
            {"kind": "image", "url": IMG, "thumb_url": IMG, "width": 600, "height": 600},
            {"kind": "video", "url": IMG.replace(".jpeg", ".mp4"), "thumb_url": ""},
        ],
        history=[["RETURN_OR_REFUND_REQUEST_PENDING", int(now.timestamp())]],
        platform_created_at=now,
        platform_updated_at=now,
    )
    Order.objects.create(
        organisation=shop.organisation,
        shop_account=shop,
        platform_order_id="576000000000009001",
        customer=customer,
        buyer_user_id=customer.platform_user_id,
        status="DELIVERED",
        currency="USD",
        total_amount="24.00",
        lines=[{"sku_id": "1729001", "product_name": "Stoneware plate", "sale_price": "12.00"}],
        recipient_name="Emily Rivers",
        recipient_phone="(+1)5550104321",
        recipient_address='{"full_address": "9 Elm St, Austin, TX 78701", "city": "Austin",'
        ' "region": "Texas", "region_code": "US"}',
        recipient_email="emily.rivers@example.com",
        platform_created_at=now,
        platform_updated_at=now,
        fetched_at=now,
    )
    return shop, conversation, case


def test_the_panel_shows_the_case_its_items_evidence_and_deadline_in_both_zones(
    client, world, scene
):
    _, conversation, _case = scene
    client.force_login(world.agent_a1)
    html = client.get(f"/inbox/c/{conversation.id}/cases/").content.decode()
    # items grouped by SKU with quantity and amount, the refund, the buyer's words
    assert "Stoneware plate" in html and "PLATE-W" in html
    assert '<td class="num">2</td>' in html and "24.00 USD" in html
    assert "The plate arrived cracked in two." in html
    assert "Damaged" in html  # the reason code in words
    # the evidence: the photo as a thumbnail that opens larger, the video as a link
    assert f'data-evidence="{IMG}"' in html and f'src="{IMG}"' in html
    assert "evidence-video" in html
    # the deadline in the shop's local time (Los Angeles, 07:30) and the viewer's (23:30)
    assert "America/Los_Angeles" in html and "Asia/Shanghai" in html
    assert "7:30" in html and "11:30" in html
    # the approve/reject form with the case's decisions
    assert 'value="APPROVE_RETURN"' in html and 'value="REJECT_RETURN"' in html
    assert 'name="reject_reason"' in html and 'name="message_text"' in html


def test_the_orders_show_the_recipient_masked_for_everyone(client, world, scene):
    _, conversation, _ = scene
    for person in (world.agent_a1, world.supervisor_a):
        client.force_login(person)
        html = client.get(f"/inbox/c/{conversation.id}/orders/").content.decode()
        assert "#576000000000009001" in html and "24.00 USD" in html
        assert "Em**" in html and "+1 ***-***-4321" in html and "Austin, Texas, US" in html
        assert "e***@example.com" in html
        assert "data-reveal" not in html  # nobody was given the reveal permission
        for secret in ("Rivers", "0104321", "Elm St", "emily.rivers"):
            assert secret not in html


@pytest.mark.parametrize("who", ["agent_a2", "agent_b", "supervisor_b"])
def test_nobody_outside_the_shop_reaches_the_panel_or_the_case(client, world, scene, who):
    _, conversation, case = scene
    client.force_login(getattr(world, who))
    for url in (
        f"/inbox/c/{conversation.id}/cases/",
        f"/inbox/c/{conversation.id}/orders/",
        f"/inbox/cases/{case.id}/",
        f"/inbox/cases/{case.id}/card/",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/inbox/cases/{case.id}/decide/", {"decision": "APPROVE_RETURN"})
    assert response.status_code == 404
    assert not AfterSalesDecision.objects.exists()


def test_a_deactivated_agent_is_sent_to_sign_in(client, world, scene):
    _, conversation, case = scene
    client.force_login(world.agent_a1)
    world.agent_a1.is_active = False
    world.agent_a1.save()
    for url in (f"/inbox/c/{conversation.id}/cases/", f"/inbox/cases/{case.id}/card/"):
        assert client.get(url).status_code == 302
    assert client.post(f"/inbox/cases/{case.id}/decide/", {}).status_code == 302


def _decide(client, case, **fields):
    data = {"idempotency_key": "k-1", **fields}
    return client.post(
        f"/inbox/cases/{case.id}/decide/", data, headers={"X-Requested-With": "fetch"}
    )


def test_a_reject_without_a_reason_is_a_400_shown_at_the_field(client, world, scene):
    _, _, case = scene
    client.force_login(world.agent_a1)
    response = _decide(client, case, decision="REJECT_RETURN", comment="no")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and "Choose a reason for the reject." in html
    assert 'name="reject_reason" aria-invalid="true"' in html
    # what the agent typed is kept
    assert 'REJECT_RETURN" data-verb="reject"' in html and ">no</textarea>" in html
    assert not AfterSalesDecision.objects.exists()


def test_a_case_the_buyer_cancelled_is_a_409_naming_that_state(client, world, scene):
    _, _, case = scene
    AfterSalesCase.objects.filter(pk=case.pk).update(
        platform_status="RETURN_OR_REFUND_REQUEST_CANCEL", stage="closed"
    )
    client.force_login(world.agent_a1)
    response = _decide(client, case, decision="APPROVE_RETURN")
    assert response.status_code == 409
    html = response.content.decode()
    assert "The buyer cancelled this request." in html and 'data-status="409"' in html
    assert not AfterSalesDecision.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"decision": "OFFER_PARTIAL_REFUND", "partial_refund_amount": "abc"},
        {"decision": "OFFER_PARTIAL_REFUND", "partial_refund_amount": "NaN"},
        {"decision": "OFFER_PARTIAL_REFUND", "partial_refund_amount": "99999"},
        {"decision": "OFFER_PARTIAL_REFUND", "partial_refund_amount": "1e999999"},
        {"decision": "NOT_A_DECISION"},
        {"decision": ""},
        {"decision": "APPROVE_RETURN", "comment": "x" * 5000},
        {"decision": "APPROVE_RETURN", "idempotency_key": "k" * 500, "verb": "\x00"},
    ],
)
def test_bad_input_is_a_400_in_the_form_never_a_5xx(client, world, scene, fields):
    _, _, case = scene
    client.force_login(world.agent_a1)
    response = _decide(client, case, **fields)
    assert response.status_code in (400, 409), response.status_code
    assert b"case-error" in response.content
    assert not AfterSalesDecision.objects.exists()


def test_the_case_page_without_a_conversation_shows_the_case_and_why(client, world, scene):
    _shop, _, case = scene
    # Given a case whose buyer has no conversation, in a shop never connected to its platform
    AfterSalesCase.objects.filter(pk=case.pk).update(customer=None, conversation=None)
    client.force_login(world.agent_a1)
    response = client.get(f"/inbox/cases/{case.id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The case is shown on its own" in html
    assert "Stoneware plate" in html and 'class="case-card' in html


def test_the_case_page_opens_the_buyers_conversation_focused_on_the_case(client, world, scene):
    _, conversation, case = scene
    client.force_login(world.agent_a1)
    response = client.get(f"/inbox/cases/{case.id}/")
    assert response.status_code == 302
    assert response["Location"] == f"/inbox/c/{conversation.id}/?case={case.id}"
    html = client.get(response["Location"]).content.decode()
    assert f"/inbox/c/{conversation.id}/cases/?case={case.id}" in html
    card = client.get(f"/inbox/c/{conversation.id}/cases/?case={case.id}").content.decode()
    assert 'data-focus="1"' in card


def test_the_card_fragment_for_the_live_refresh(
    client, world, scene, django_assert_max_num_queries
):
    _, _, case = scene
    client.force_login(world.agent_a1)
    with django_assert_max_num_queries(25):
        response = client.get(f"/inbox/cases/{case.id}/card/")
    assert response.status_code == 200
    assert f'id="case-{case.id}"' in response.content.decode()


def _more_cases(case, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        AfterSalesCase.objects.create(
            **{
                f.attname: getattr(case, f.attname)
                for f in AfterSalesCase._meta.concrete_fields
                if f.attname not in ("id", "platform_case_id", "created_at", "updated_at")
            },
            platform_case_id=f"40350000000001{i:02d}",
        )


def test_the_cases_fragment_reads_a_bounded_number_of_queries(
    client, world, scene, django_assert_max_num_queries
):
    _, conversation, case = scene
    client.force_login(world.agent_a1)
    url = f"/inbox/c/{conversation.id}/cases/"
    _more_cases(case, 1)
    with django_assert_max_num_queries(40) as one:
        client.get(url)
    _more_cases(case, 6, start=1)
    # Six more cards: at most three queries more each (case_reject_reasons checks access, reads
    # the case and the shop's connection); orders and decisions are read once for all cards
    with django_assert_max_num_queries(len(one.captured_queries) + 6 * 3) as many:
        html = client.get(url).content.decode()
    assert html.count('class="case-card') == 8
    assert len(many.captured_queries) >= len(one.captured_queries)


def test_a_decision_the_platform_refused_shows_with_its_reason(client, world, scene):
    shop, conversation, case = scene
    decision = AfterSalesDecision.objects.create(
        organisation=shop.organisation,
        case=case,
        author=world.agent_a1,
        verb="approve",
        decision="APPROVE_RETURN",
        idempotency_key="k-9",
        status_seen=case.platform_status,
    )
    OutboxAction.objects.create(
        kind="after_sales_decision",
        organisation=shop.organisation,
        shop_account=shop,
        subject_id=decision.id,
        state="failed",
        failure_reason="The return cannot be approved in its status. (code 40009)",
    )
    client.force_login(world.supervisor_a)
    html = client.get(f"/inbox/c/{conversation.id}/cases/").content.decode()
    assert 'data-decision-state="failed"' in html
    assert "Refused by the platform" in html
    assert "The platform refused: The return cannot be approved in its status. (code 40009)" in html
    assert "Approve the return" in html


def test_a_case_in_arbitration_shows_it_with_its_history_and_offers_no_decision(
    client, world, scene
):
    _, conversation, case = scene
    AfterSalesCase.objects.filter(pk=case.pk).update(
        platform_status="REFUND_OR_RETURN_REQUEST_REJECT",
        stage="decided",
        arbitration_status="IN_PROGRESS",
        history=[
            ["RETURN_OR_REFUND_REQUEST_PENDING", 1764700000],
            ["REFUND_OR_RETURN_REQUEST_REJECT", 1764703600],
        ],
    )
    client.force_login(world.agent_a1)
    html = client.get(f"/inbox/c/{conversation.id}/cases/").content.decode()
    assert "Arbitration: In progress" in html
    assert "Request rejected" in html and "Return or refund requested" in html  # history
    assert html.index("Request rejected") < html.index("<details")  # the status, then history
    assert 'class="case-decide"' not in html
