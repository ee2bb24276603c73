"""The behaviour page's figures on planted data: an agent who stands out is flagged, a normal
one is not; the figures take a constant number of queries; supervisors only."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from inbox.models import Role
from monitoring.audit_log.behaviour import behaviour_report
from monitoring.audit_log.stats import Rule, outliers
from monitoring.models import Violation
from monitoring.services.audit import audit_record
from tests.factories import make_person

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")  # the shop factory's zone
MONDAY = datetime(2026, 11, 2, tzinfo=LA)
PERIOD = {"since": "2026-11-02", "until": "2026-11-06"}


def _act(world, person, action, at, n=1):
    with mock.patch("django.utils.timezone.now", return_value=at):
        for _n in range(n):
            audit_record(
                organisation_id=world.org_a.id,
                actor=person,
                action=action,
                shop_account_id=world.shop_a1.id,
            )


def _violations(world, person, n, at):
    for _n in range(n):
        Violation.objects.create(
            organisation=world.org_a,
            shop_account=world.shop_a1,
            actor=person,
            source="reply",
            action="flag",
            category="off_platform",
            text="x",
            created_at=at,
        )


@pytest.fixture
def team(world):
    """Five agents of shop a1 with 24 replies each over working hours (Mon–Thu 10:00–13:00 in
    the shop's zone); one breaks the rules eight times, one works at night."""
    people = {
        name: make_person(world.org_a, Role.AGENT, [world.shop_a1], username=name)
        for name in ("ann", "bob", "cat", "dan", "erin", "owl")
    }
    for name, person in people.items():
        for day in range(4):
            for hour in (10, 11, 12):
                start = 2 if name == "owl" else hour
                _act(world, person, "reply.submitted", MONDAY + timedelta(days=day, hours=start), 2)
    _violations(world, people["erin"], 8, MONDAY + timedelta(hours=11))
    _violations(world, people["bob"], 1, MONDAY + timedelta(hours=11))
    return people


def test_outliers_are_flagged_and_normal_agents_not(client, world, team):
    client.force_login(world.supervisor_a)
    html = client.get("/monitoring/behaviour/", PERIOD).content.decode()
    report = behaviour_report(world.supervisor_a, since=MONDAY, until=MONDAY + timedelta(days=5))
    figures = {a.name: a for a in report.agents}
    assert figures["erin"].violation_rate == pytest.approx(8 / 24)
    assert "violation_rate" in figures["erin"].flags
    assert figures["owl"].off_hours == 24 and "off_hours_share" in figures["owl"].flags
    assert figures["bob"].flags == [] and figures["ann"].flags == []
    assert figures["ann"].replies == 24 and figures["ann"].active_hours == 12
    assert figures["ann"].replies_per_hour == 2
    assert f'data-agent="{team["erin"].id}" class="flagged"' in html
    assert f'data-agent="{team["ann"].id}">' in html
    assert "<svg" in html and 'data-chart="violation_rate"' in html


def test_mad_ignores_too_little_volume_and_small_teams():
    rule = Rule(higher_is_worse=True, floor=0.01)
    _team, flagged = outliers({1: 0.0, 2: 0.01, 3: 0.0, 4: 0.9}, {1, 2, 3, 4}, rule)
    assert flagged == {4}
    assert outliers({1: 0.0, 2: 0.01, 3: 0.0, 4: 0.9}, {1, 2, 3}, rule)[1] == set()
    assert outliers({1: 0.0, 4: 0.9}, {1, 4}, rule) == (None, set())


def test_figures_take_a_constant_number_of_queries(
    client, world, team, django_assert_max_num_queries
):
    client.force_login(world.supervisor_a)
    client.get("/monitoring/behaviour/", PERIOD)  # the session and the member cached
    with django_assert_max_num_queries(16) as few:
        assert client.get("/monitoring/behaviour/", PERIOD).status_code == 200
    for n in range(6):
        person = make_person(world.org_a, Role.AGENT, [world.shop_a1], username=f"more{n}")
        _act(world, person, "reply.submitted", MONDAY + timedelta(hours=10), 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/monitoring/behaviour/", PERIOD).status_code == 200


def test_only_supervisors_of_the_organisation(client, world, team):
    client.force_login(world.agent_a1)
    assert client.get("/monitoring/behaviour/").status_code == 404
    client.force_login(world.supervisor_b)
    html = client.get("/monitoring/behaviour/", PERIOD).content.decode()
    assert f'data-agent="{team["erin"].id}"' not in html
    assert client.get("/monitoring/behaviour/", {"since": "nonsense"}).status_code == 400
