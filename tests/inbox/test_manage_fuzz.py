"""Property: no form input is a 5xx on the management pages. Every form of every page (the
route tests cover their GETs) is posted by an admin with its own field names carrying
arbitrary values, known-bad ones first; the invitation page is posted by anyone with any token.

Bounded and derandomized like tests/test_routes_fuzz.py (its hypothesis profiles). Run in
services mode especially: PostgreSQL refuses NUL in text and integers beyond 64 bits.
"""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inbox.models import Member, Role
from inbox.services.invitations import invitation_create
from tests.factories import make_person
from tests.inbox.platform_world import start_platform
from tests.test_routes_fuzz import NUMBERS, ODD, TEXT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

VALUES = st.one_of(ODD, TEXT, NUMBERS, st.sampled_from(["UTC", "agent", "admin", "on", "en"]))
KNOWN_BAD = ("\x00", "99999999999999999999", "²", "-1", "", "x" * 300, "\ufffd")

FORMS: dict[str, tuple[str, ...]] = {
    "shop": ("name", "time_zone", "assignment_mode"),
    "connect": ("app_key", "app_secret", "auth_code"),
    "people": ("action", "email", "role", "shops", "invitation"),
    "person": ("action", "role", "shops"),
    "organisation": ("name", "time_zone", "language", "require_two_factor", "assign_on_reply"),
    "disconnect": ("confirm",),
}
ACTIONS = {"people": ("invite", "revoke"), "person": ("role", "shops", "deactivate", "reactivate")}


def forms(page: str) -> st.SearchStrategy[dict[str, list[str]]]:
    names = FORMS[page]
    fields = st.dictionaries(st.sampled_from(names), st.lists(VALUES, min_size=1, max_size=3))
    if page in ACTIONS:
        fields = st.tuples(fields, st.sampled_from(ACTIONS[page])).map(
            lambda t: {**t[0], "action": [t[1]]}
        )
    return fields


@pytest.fixture
def simulator(settings):
    """The platform is the simulator: any code the fuzz sends is refused there (a 400; an
    unreachable platform would rightly be a 502)."""
    platform = start_platform(settings)
    yield platform
    platform.server.stop()
    platform.sim.close()


@pytest.mark.parametrize("page", list(FORMS))
def test_no_form_input_makes_a_5xx(world, simulator, page):
    admin = make_person(world.org_a, Role.ADMIN, username="fuzz_admin")
    client = Client()
    url = {
        "shop": f"/inbox/manage/shops/{world.shop_a1.id}/",
        "connect": "/inbox/manage/shops/connect/",
        "people": "/inbox/manage/people/",
        "person": f"/inbox/manage/people/{world.agent_a1.pk}/",
        "organisation": "/inbox/manage/organisation/",
        "disconnect": f"/inbox/manage/shops/{world.shop_a3.id}/disconnect/",
    }[page]

    @given(form=forms(page))
    @hypothesis_settings(max_examples=min(hypothesis_settings().max_examples, 20))
    def check(form: dict[str, list[str]]) -> None:
        client.force_login(admin)
        response = client.post(url, form)
        assert response.status_code < 500, (page, form)

    for name in FORMS[page]:
        for bad in KNOWN_BAD:
            check = example(form={name: [bad]})(check)
    check()
    # Whatever was posted, the acting admin is still an admin
    assert Member.objects.get(user=admin).role == Role.ADMIN


def test_no_invitation_link_or_form_makes_a_5xx(world):
    admin = make_person(world.org_a, Role.ADMIN, username="fuzz_admin")
    new = invitation_create(
        actor=admin, email="fuzz@example.com", role="agent", site_url="http://testserver/"
    )
    real = new.link.removeprefix("http://testserver")
    client = Client()

    @given(
        token=st.one_of(TEXT.filter(lambda t: "/" not in t and t.strip()), ODD),
        form=st.dictionaries(
            st.sampled_from(["username", "display_name", "password", "password2"]), VALUES
        ),
        use_real=st.booleans(),
    )
    @hypothesis_settings(max_examples=min(hypothesis_settings().max_examples, 40))
    def check(token: str, form: dict[str, str], use_real: bool) -> None:
        from urllib.parse import quote

        path = real if use_real else f"/invitation/{quote(token, safe='')}/"
        for response in (client.get(path), client.post(path, form)):
            assert response.status_code < 500, (path, form)
        client.logout()

    check()
