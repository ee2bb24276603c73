"""Access by enumeration: every route of the URLconf (tests/routes.py), with every method the
OpenAPI schema gives it, called about objects of shop a1 of organisation A by

- an agent of another shop of the same organisation (agent_a2),
- a supervisor of another organisation (supervisor_b),
- agent_a1 after deactivation, with the session and the API token they had;

never shows those objects' data (a marker planted in every text of them), answers 404 where
the route names one of them, changes none of them, and treats the deactivated user exactly as
nobody signed in. tests/inbox/test_access.py keeps the hand-written cases beside this.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from inbox.models import (
    ApiToken,
    Conversation,
    Customer,
    CustomerField,
    CustomerMerge,
    CustomerNote,
    FollowUp,
    Message,
    Note,
    ShopMembership,
)
from inbox.models.rules import AfterSalesRule, CompensationSuggestion, RuleDryRun
from inbox.services import profiles
from inbox.services.conversations import note_add
from inbox.services.tokens import token_create
from monitoring.models import (
    AlertChannel,
    AlertReceipt,
    BusinessCalendar,
    Holiday,
    SlaAlert,
    Violation,
)
from monitoring.models.problems import ProblemRecord
from templates_app.models import Material, QuickReply
from tests.factories import QuickReplyFactory
from tests.inbox.builders import conversation_with_messages, pending_reply
from tests.inbox.case_builders import case_needing_decision
from tests.routes import QUERIES, Route, body_for, routes, uncovered

pytestmark = pytest.mark.django_db

MARKER = "ZQX7-shop-a1-only"


def plant(world) -> dict[str, Any]:
    """Objects of shop a1 (organisation A), each carrying MARKER; their ids by name."""
    shop = world.shop_a1
    conversation = conversation_with_messages(
        shop, buyer=f"{MARKER} buyer", texts=(f"{MARKER} asks",)
    )
    note = note_add(actor=world.agent_a1, conversation_id=conversation.id, text=f"{MARKER} note")
    reply = pending_reply(conversation, f"{MARKER} reply", key="k-plant", author=world.agent_a1)
    quick_reply = QuickReplyFactory(
        organisation=world.org_a,
        scope="team",
        shop_accounts=[shop],
        title=f"{MARKER} title",
        body=f"{MARKER} body",
    )
    material = Material.objects.create(
        organisation=world.org_a,
        scope="team",
        kind="link",
        name=f"{MARKER} material",
        url="https://example.com/size-chart",
    )
    material.shop_accounts.set([shop])
    token, key = token_create(user=world.agent_a1, name=f"{MARKER} token")
    case = case_needing_decision(shop, buyer=f"{MARKER} case buyer")
    # An after-sales rule of organisation A and a compensation suggestion, carrying the marker
    rule = AfterSalesRule.objects.create(
        organisation=world.org_a,
        name=f"{MARKER} rule",
        reason_codes=[f"{MARKER} reason"],
        tag="rule-tag",
        note=f"{MARKER} rule note",
    )
    RuleDryRun.objects.create(
        organisation=world.org_a,
        rule=rule,
        rule_version=rule.version,
        window_start=timezone.now() - timedelta(days=30),
        window_end=timezone.now(),
        rows=[{"platform_case_id": f"{MARKER} case"}],
    )
    compensation = CompensationSuggestion.objects.create(
        organisation=world.org_a,
        issue_type="damaged",
        kind="coupon",
        title=f"{MARKER} coupon",
        cost="5.00",
        currency="USD",
    )
    # The shop's SLA calendar (its page names the shop): a holiday carrying the marker
    calendar = BusinessCalendar.objects.create(organisation=world.org_a, shop_account=shop)
    Holiday.objects.create(calendar=calendar, date=date(2027, 1, 1), name=f"{MARKER} holiday")
    # An SLA alert (the shop's digest) in agent_a1's bell, unread
    alert = SlaAlert.objects.create(
        organisation=world.org_a, shop_account=shop, kind="digest", digest_date=date(2027, 1, 4)
    )
    AlertReceipt.objects.create(alert=alert, user=world.agent_a1)
    # An alert channel of the organisation, failing (the banner names it), for shop a1
    channel = AlertChannel.objects.create(
        organisation=world.org_a,
        shop_account=shop,
        kind="webhook",
        name=f"{MARKER} channel",
        target="https://hooks.example.com/x",
        consecutive_failures=5,
        last_failure_reason=f"{MARKER} reason",
    )
    # A violation of agent_a1's in the conversation, its text carrying the marker
    violation = Violation.objects.create(
        organisation=world.org_a,
        shop_account=shop,
        conversation=conversation,
        actor=world.agent_a1,
        actor_name=f"{MARKER} agent",
        source="reply",
        action="flag",
        category="off_platform",
        text=f"{MARKER} add me on wechat",
        matches=[
            {"start": len(MARKER) + 11, "end": len(MARKER) + 17, "category": "off_platform"}
            | {"action": "flag", "word": "wechat"}
        ],
    )
    # The conversation's problem-log record, the buyer's words carrying the marker
    problem = ProblemRecord.objects.create(
        organisation=world.org_a,
        shop_account=shop,
        source="conversation",
        conversation=conversation,
        issue_type="damaged",
        suggested_type="damaged",
        sku="MUG-1",
        quote=f"{MARKER} it broke",
        local_date=timezone.now().date(),
    )
    return {
        **_plant_profiles(world, conversation),
        "problem": problem.id,
        "shop": shop.id,
        "conversation": conversation.id,
        "customer": conversation.customer_id,
        "note": note.id,
        "reply": reply.id,
        "membership": ShopMembership.objects.get(user=world.agent_a1, shop_account=shop).id,
        "person": world.agent_a1.id,
        "quick_reply": quick_reply.id,
        "material": material.id,
        "token": token.id,
        "token_key": key,
        "case": case.id,
        "alert": alert.id,
        "channel": channel.id,
        "violation": violation.id,
        "rule": rule.id,
        "compensation": compensation.id,
    }


def _plant_profiles(world, conversation) -> dict[str, Any]:
    """A buyer's profile of shop a1: a note, a follow-up, a merge, a twin to merge; and a
    custom field of organisation A (its label has no marker: every person of A sees it)."""
    shop, customer = world.shop_a1, conversation.customer
    twin = conversation_with_messages(shop, buyer=f"{MARKER} twin").customer
    gone = conversation_with_messages(shop, buyer=f"{MARKER} merged").customer
    note = profiles.customer_note_add(
        actor=world.agent_a1, customer_id=customer.id, text=f"{MARKER} customer note"
    )
    follow_up = profiles.follow_up_create(
        actor=world.agent_a1,
        customer_id=customer.id,
        promise=f"{MARKER} promise",
        due_at=timezone.now() + timedelta(days=1),
    )
    merge = profiles.customer_merge(
        actor=world.supervisor_a, survivor_id=customer.id, merged_id=gone.id
    )
    field = profiles.customer_field_create(
        actor=world.supervisor_a, key="plant_tier", label="Tier", kind="text"
    )
    return {
        "customer_twin": twin.id,
        "customer_note": note.id,
        "follow_up": follow_up.id,
        "merge": merge.id,
        "customer_field": field.id,
    }


def _state(objects: dict[str, Any]) -> tuple:
    """What an outsider's call must not change."""
    conversation = Conversation.objects.get(id=objects["conversation"])
    reply = QuickReply.objects.get(id=objects["quick_reply"])
    token = ApiToken.objects.get(id=objects["token"])
    return (
        conversation.status,
        conversation.priority,
        conversation.assignee_id,
        sorted(conversation.tags.values_list("name", flat=True)),
        conversation.unread_count,
        Message.objects.filter(conversation=conversation).count(),
        Note.objects.filter(conversation=conversation).count(),
        reply.title,
        reply.is_archived,
        reply.usage_count,
        Material.objects.get(id=objects["material"]).is_archived,
        ShopMembership.objects.filter(id=objects["membership"]).exists(),
        token.revoked_at,
        token.key_digest,
        list(AlertReceipt.objects.filter(alert_id=objects["alert"]).values_list("read_at")),
        list(AlertChannel.objects.filter(id=objects["channel"]).values_list("name", "is_active")),
        Violation.objects.get(id=objects["violation"]).status,
        list(
            AfterSalesRule.objects.filter(id=objects["rule"]).values_list(
                "name", "is_enabled", "version"
            )
        ),
        list(
            CompensationSuggestion.objects.filter(id=objects["compensation"]).values_list(
                "title", "is_active"
            )
        ),
        list(ProblemRecord.objects.filter(id=objects["problem"]).values_list("issue_type", "sku")),
        _profile_state(objects),
    )


def _profile_state(objects: dict[str, Any]) -> tuple:
    customer = Customer.objects.get(id=objects["customer"])
    return (
        customer.country,
        customer.phone,
        sorted(customer.tags.values_list("name", flat=True)),
        Customer.objects.get(id=objects["customer_twin"]).merged_into_id,
        CustomerNote.objects.filter(customer=customer).count(),
        FollowUp.objects.get(id=objects["follow_up"]).done_at,
        CustomerMerge.objects.get(id=objects["merge"]).undone_at,
        list(
            CustomerField.objects.filter(id=objects["customer_field"]).values_list(
                "label", "is_active"
            )
        ),
    )


def _calls(route: Route) -> list[str]:
    return list(route.methods) if route.is_api else ["get"]


def _request(client: Client, route: Route, method: str, objects: dict[str, Any], **extra):
    url = route.url(objects)
    if method == "get":
        query = QUERIES.get(route.name, "")
        return client.get(f"{url}?{query}" if query else url, **extra)
    body = body_for(route, method, objects)
    return getattr(client, method)(url, body, content_type="application/json", **extra)


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_every_route_is_covered():
    assert uncovered() == []


@pytest.mark.parametrize("who", ["agent_a2", "supervisor_b"])
def test_outsiders_never_see_or_change_shop_a1s_objects(world, who):
    objects = plant(world)
    before = _state(objects)
    outsider = getattr(world, who)
    client = Client()
    client.force_login(outsider)
    objects = {**objects, "me": outsider.id}
    nowhere = {k: (999_999_999 if isinstance(v, int) else v) for k, v in objects.items()}
    nowhere["me"] = outsider.id
    seen = []
    for route in routes():
        for method in _calls(route):
            client.force_login(outsider)  # again: "log out everywhere" ends the session
            response = _request(client, route, method, objects)
            where = f"{method.upper()} {route.id}"
            seen.append(where)
            # Never their data, whatever the answer
            assert MARKER not in _text(response), where
            assert response.status_code < 500, where
            # A route naming one of shop a1's objects: it does not exist for them (404), or
            # their role may not use the route at all (403) — the same answer as for an id
            # that exists nowhere, so the status tells nothing
            if route.path_params and route.name != "webhook":
                assert response.status_code in (403, 404), (where, response.status_code)
                client.force_login(outsider)
                missing = _request(client, route, method, nowhere)
                assert response.status_code == missing.status_code, where
            # And nothing of shop a1's changed
            assert _state(objects) == before, where
    assert len(seen) >= len(routes())


def test_a_deactivated_user_is_nobody(world):
    # Given agent_a1, who sees shop a1, signed in on a page and holding an API token
    objects = plant(world)
    session = Client()
    session.force_login(world.agent_a1)
    token = {"HTTP_AUTHORIZATION": f"Token {objects['token_key']}"}
    objects = {**objects, "me": world.agent_a1.id}
    assert MARKER in _text(session.get(f"/inbox/c/{objects['conversation']}/"))
    before = _state(objects)
    # When the account is deactivated
    world.agent_a1.is_active = False
    world.agent_a1.save(update_fields=["is_active"])
    anonymous = Client()
    for route in routes():
        for method in _calls(route):
            where = f"{method.upper()} {route.id}"
            nobody = _request(anonymous, route, method, objects)
            with_session = _request(session, route, method, objects)
            # Then the session is worth what no session is worth, and shows nothing
            assert with_session.status_code == nobody.status_code, where
            assert MARKER not in _text(with_session), where
            if route.is_api:
                with_token = _request(Client(), route, method, objects, **token)
                assert MARKER not in _text(with_token), where
                if nobody.status_code in (401, 403):
                    assert with_token.status_code in (401, 403), where
                else:  # a route that needs no one (the sign-in): the same answer
                    assert with_token.status_code == nobody.status_code, where
            assert _state(objects) == before, where
