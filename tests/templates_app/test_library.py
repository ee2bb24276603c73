"""The picker's in-memory library (templates_app/library.py): the same answers as a plain scan
of the database, and never older than what the database shows (but for the documented usage
lag)."""

import random
import threading
import zoneinfo
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from inbox.models import Member, Role, ShopMembership
from templates_app import library, search, selectors, services
from templates_app.models import Material, QuickReply
from tests.factories import make_person
from tests.templates_app.conftest import add_message, create_reply, make_conversation

BASE = "/api/v1/templates/"

# Words chosen so that each way of answering is taken: "s…" begins most replies' words (checked
# row by row), "refund" is in about a third (walked in usage order), "warranty" and the CJK pair
# in a few (sorted).
COMMON = ["shipping", "size", "stock", "shop", "sale", "small"]
MIDDLE = ["refund", "return", "delivery", "colour"]
RARE = ["warranty", "battery", "发货通知"]


def reference(member_user, shop_ids, replies, search_text, *, include_archived=False):
    """What the picker must answer, by brute force over the database rows (``replies``: from
    ``replies_read``)."""
    terms = search.query_terms(search_text)
    member = member_user.member
    out = []
    for q in replies:
        if q.is_archived and not include_archived:
            continue
        if q.scope == "personal" and q.owner_id != member.user_id:
            continue
        if q.scope == "team" and not member.sees_all_shops and not q.shop_ids & shop_ids:
            continue
        words = search.terms_for(search.index_texts(q))
        if all(any(w.startswith(t) if prefix else w == t for w in words) for t, prefix in terms):
            out.append(q)
    out.sort(key=lambda q: (-q.usage_count, -q.id))
    return [q.id for q in out]


def paged(user, search_text, *, include_archived=False, limit=7):
    ids, after = [], None
    for _ in range(1000):  # a cursor that does not move on must fail, not hang
        page = selectors.quick_reply_page_for(
            user, search=search_text, include_archived=include_archived, after=after, limit=limit
        )
        ids += [q.id for q in page.items]
        if page.next_after is None:
            return ids
        after = page.next_after
    raise AssertionError("paging did not end")


def random_library(world, rng, n):
    people = [world.agent_a1, world.agent_a2, world.supervisor_a]
    shops = [world.shop_a1, world.shop_a2, world.shop_a3]
    rows = []
    for i in range(n):
        scope = rng.choice(["organisation", "organisation", "team", "personal"])
        words = [rng.choice(COMMON) for _ in range(rng.randint(0, 2))]
        words += [w for w in MIDDLE if rng.random() < 0.3] + [
            w for w in RARE if rng.random() < 0.04
        ]
        rows.append(
            QuickReply(
                organisation=world.org_a,
                scope=scope,
                owner=rng.choice(people) if scope == "personal" else None,
                title=" ".join(words) or "hello",
                shortcut=f"k{i}",
                body="Hello {{ buyer_name }}. " + " ".join(rng.sample(words, len(words))),
                usage_count=rng.randint(0, 5),  # many ties: the id decides among them
                is_archived=rng.random() < 0.1,
            )
        )
    QuickReply.objects.bulk_create(rows)
    through = QuickReply.shop_accounts.through
    through.objects.bulk_create(
        [
            through(quickreply_id=q.id, shopaccount_id=s.id)
            for q in QuickReply.objects.filter(organisation=world.org_a, scope="team")
            for s in rng.sample(shops, rng.randint(1, 2))
        ]
    )
    library.changed(world.org_a.id)


QUERIES = ["", "s", "sh", "ship", "refund", "refund s", "re", "warranty", "发货", "通知", "zzz"]


def replies_read(organisation):
    """The organisation's replies, each with ``shop_ids``: the shops of its team."""
    replies = list(QuickReply.objects.filter(organisation=organisation).order_by("id"))
    through = QuickReply.shop_accounts.through
    shops: dict[int, set[int]] = {}
    for reply_id, shop_id in through.objects.filter(quickreply__in=replies).values_list(
        "quickreply_id", "shopaccount_id"
    ):
        shops.setdefault(reply_id, set()).add(shop_id)
    for reply in replies:
        reply.shop_ids = shops.get(reply.id, set())
    return replies


def assert_same_as_reference(world):
    replies = replies_read(world.org_a)
    for user in (world.agent_a1, world.agent_a2, world.supervisor_a):
        shop_ids = set(
            ShopMembership.objects.filter(user=user).values_list("shop_account_id", flat=True)
        )
        for text in QUERIES:
            for archived in (False, True):
                want = reference(user, shop_ids, replies, text, include_archived=archived)
                got = paged(user, text, include_archived=archived)
                assert got == want, (user.username, text, archived)


@pytest.mark.parametrize("seed", [1, 2])
def test_pages_match_a_plain_scan_before_and_after_edits(world, seed):
    # given a library of 300 replies of every scope, with ties in usage and some archived
    rng = random.Random(seed)
    random_library(world, rng, 300)
    # then paging through any search gives exactly a brute-force scan's answer, for each member
    assert_same_as_reference(world)
    # when some replies change behind the copy (words, archive, usage), some go, some come
    # (marked changed as the services do; few enough that the copy is patched, not rebuilt)
    now = timezone.now()
    ids = list(QuickReply.objects.filter(organisation=world.org_a).values_list("id", flat=True))
    for i, reply_id in enumerate(rng.sample(ids, 30)):
        fields = {"updated_at": now + timedelta(microseconds=i)}
        if i % 3 == 0:
            fields["title"] = rng.choice(["warranty size", "small refund", "新的发货", "plain"])
        elif i % 3 == 1:
            fields["is_archived"] = not QuickReply.objects.get(id=reply_id).is_archived
        QuickReply.objects.filter(id=reply_id).update(**fields)
    for reply_id in rng.sample(ids, 5):
        QuickReply.objects.filter(id=reply_id).delete()
    create_reply(world.supervisor_a, title="stock refund warranty", body="Hi")
    QuickReply.objects.filter(id__in=rng.sample(ids, 40)).update(usage_count=9)
    library.changed(world.org_a.id)
    # then the answers follow at once, still exactly the scan's
    assert_same_as_reference(world)


def test_a_service_change_is_seen_at_once_by_picker_and_render(api, world):
    reply = create_reply(
        world.supervisor_a, title="Parcel", body="Your parcel is on its way, {{ buyer_name }}."
    )
    conversation = make_conversation(world.shop_a1)
    client = api.as_user(world.agent_a1)
    assert [r["id"] for r in client.get(BASE, {"search": "parcel"}).json()["results"]] == [reply.id]
    # when the supervisor rewords it
    services.quick_reply_update(
        actor=world.supervisor_a,
        quick_reply_id=reply.id,
        title="Package",
        body="Your package left today, {{ buyer_name }}.",
    )
    # then the next keystroke and the next render use the new words
    assert client.get(BASE, {"search": "parcel"}).json()["results"] == []
    assert [r["id"] for r in client.get(BASE, {"search": "pack"}).json()["results"]] == [reply.id]
    rendered = client.post(f"{BASE}{reply.id}/render/", {"conversation_id": conversation.id})
    assert rendered.json()["text"] == "Your package left today, Alice Chen."
    # when it moves to a team of shop a2 only, agent_a1 loses it at once
    services.quick_reply_update(
        actor=world.supervisor_a,
        quick_reply_id=reply.id,
        scope="team",
        shop_account_ids=[world.shop_a2.id],
    )
    assert client.get(BASE, {"search": "pack"}).json()["results"] == []
    again = client.post(f"{BASE}{reply.id}/render/", {"conversation_id": conversation.id})
    assert again.status_code == 404


def test_an_agent_added_to_a_shop_sees_its_team_replies_at_once(api, world):
    team = create_reply(
        world.supervisor_a, title="A2 hours", scope="team", shop_account_ids=[world.shop_a2.id]
    )
    client = api.as_user(world.agent_a1)
    assert client.get(BASE, {"search": "hours"}).json()["results"] == []
    ShopMembership.objects.create(user=world.agent_a1, shop_account=world.shop_a2)
    found = api.as_user(world.agent_a1).get(BASE, {"search": "hours"}).json()["results"]
    assert [r["id"] for r in found] == [team.id]


def test_a_rolled_back_change_is_never_served(api, world):
    reply = create_reply(world.supervisor_a, title="Original words", body="Hi")
    client = api.as_user(world.agent_a1)
    assert client.get(BASE, {"search": "original"}).json()["results"]
    # when an edit is read inside its own transaction, then rolled back
    with pytest.raises(RuntimeError), transaction.atomic():
        services.quick_reply_update(
            actor=world.supervisor_a, quick_reply_id=reply.id, title="Changed words"
        )
        assert paged(world.agent_a1, "changed") == [reply.id]
        raise RuntimeError("abort")
    # then the copy built from the uncommitted edit is not what the next call gets
    assert paged(world.agent_a1, "changed") == []
    assert paged(world.agent_a1, "original") == [reply.id]


def test_usage_order_follows_within_the_sync_interval(api, world, settings):
    first = create_reply(world.supervisor_a, title="First")
    second = create_reply(world.supervisor_a, title="Second")
    conversation = make_conversation(world.shop_a1)
    assert [q.id for q in selectors.quick_reply_page_for(world.agent_a1).items] == [
        second.id,
        first.id,
    ]
    # when the older one is used twice (no revision: a send must not make every process
    # re-read the library) and the sync interval has passed
    for _ in range(2):
        services.quick_reply_use(
            actor=world.agent_a1, quick_reply_id=first.id, conversation_id=conversation.id
        )
    settings.SCRM_QUICK_REPLY_SYNC_SECONDS = 0
    # then it comes first, with its count
    page = selectors.quick_reply_page_for(world.agent_a1)
    assert [(q.id, q.usage_count) for q in page.items] == [(first.id, 2), (second.id, 0)]


def test_a_save_outside_the_app_is_seen_after_the_sync_interval(world, settings):
    reply = create_reply(world.supervisor_a, title="Before")
    assert paged(world.agent_a1, "before") == [reply.id]
    # a shell edit through the model (save() moves updated_at), with no new revision
    reply.title = "After"
    reply.save()
    settings.SCRM_QUICK_REPLY_SYNC_SECONDS = 0
    assert paged(world.agent_a1, "before") == []
    assert paged(world.agent_a1, "after") == [reply.id]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row versions (xmin) are PostgreSQL's; SQLite's copy goes by updated_at",
)
def test_any_update_outside_the_app_is_seen_after_the_sync_interval_on_postgresql(world, settings):
    reply = create_reply(world.supervisor_a, title="Before")
    assert paged(world.agent_a1, "before") == [reply.id]
    # SQL that leaves updated_at alone: archived, reworded
    QuickReply.objects.filter(id=reply.id).update(title="After", is_archived=True)
    settings.SCRM_QUICK_REPLY_SYNC_SECONDS = 0
    assert paged(world.agent_a1, "before") == []
    assert paged(world.agent_a1, "after", include_archived=True) == [reply.id]


def test_a_link_removed_outside_the_app_is_seen_after_the_sync_interval(world, settings):
    # given a team reply of shops a1 and a2, which agent_a2 (shops a2, a3) sees
    team = create_reply(
        world.supervisor_a,
        title="Shared hours",
        scope="team",
        shop_account_ids=[world.shop_a1.id, world.shop_a2.id],
    )
    assert paged(world.agent_a2, "shared") == [team.id]
    # when its link to a2 goes by SQL (no save of the reply, no new revision)
    QuickReply.shop_accounts.through.objects.filter(
        quickreply_id=team.id, shopaccount_id=world.shop_a2.id
    ).delete()
    settings.SCRM_QUICK_REPLY_SYNC_SECONDS = 0
    # then agent_a2 no longer gets it; agent_a1 still does
    assert paged(world.agent_a2, "shared") == []
    assert paged(world.agent_a1, "shared") == [team.id]


def test_an_organisation_without_a_revision_is_read_on_every_call(world):
    # given replies written without the services (no revision row for org B yet)
    first = QuickReply.objects.create(
        organisation=world.org_b, scope="organisation", title="One", shortcut="one", body="Hi"
    )
    assert paged(world.agent_b, "") == [first.id]
    second = QuickReply.objects.create(
        organisation=world.org_b, scope="organisation", title="Two", shortcut="two", body="Hi"
    )
    # then the next call sees the second at once, whatever the sync interval
    assert paged(world.agent_b, "") == [second.id, first.id]


def test_a_published_snapshot_is_never_changed_and_callers_get_copies(world):
    reply = create_reply(
        world.supervisor_a,
        title="Alpha words",
        translations={"zh-hans": "你好 {{ buyer_name }}"},
        custom_fields=["size"],
        body="Hello {{ buyer_name }}, your {{ size }}.",
    )
    others = [create_reply(world.supervisor_a, title=f"Beta {i}").id for i in range(8)]
    page = selectors.quick_reply_page_for(world.supervisor_a, search="alpha")
    old = library.snapshot_of(world.org_a.id)
    held = old.entries[reply.id].reply
    # callers get their own objects: changing them changes nothing held
    given = page.items[0]
    assert given is not held and given.translations is not held.translations
    assert given.custom_fields is not held.custom_fields
    given.translations["ms"] = "x"
    given.custom_fields.append("colour")
    given.title = "changed by a caller"
    before = frozen(old)
    # when replies change (words gained and lost, one archived) and the library re-syncs
    services.quick_reply_update(
        actor=world.supervisor_a, quick_reply_id=reply.id, title="Gamma words"
    )
    services.quick_reply_archive(actor=world.supervisor_a, quick_reply_id=others[0])
    assert paged(world.supervisor_a, "gamma") == [reply.id]
    assert library.snapshot_of(world.org_a.id) is not old
    # then the snapshot readers may still hold is exactly as it was
    assert frozen(old) == before
    assert held.title == "Alpha words" and held.translations == {"zh-hans": "你好 {{ buyer_name }}"}
    assert held.custom_fields == ["size"]


def frozen(snapshot):
    """A deep copy of what a snapshot holds."""
    return {
        "entries": {
            i: (e.stamp, e.words, e.shop_ids, e.material_ids, e.reply.title, e.reply.is_archived)
            for i, e in snapshot.entries.items()
        },
        "usage": dict(snapshot.usage),
        "order": snapshot.order,
        "keys": snapshot.keys,
        "rank": dict(snapshot.rank),
        "words": snapshot.words,
        "postings": {w: set(ids) for w, ids in snapshot.postings.items()},
        "materials": dict(snapshot.materials),
    }


def test_search_edge_cases(world):
    long_word = "x" * 45
    astral = "𠀀𠀁"  # letters outside the Basic Multilingual Plane
    a = create_reply(world.supervisor_a, title=f"{long_word} tail")
    b = create_reply(world.supervisor_a, title=f"{astral} plane")
    # words are indexed and searched on their first 40 characters
    assert paged(world.agent_a1, "x" * 40) == [a.id]
    assert paged(world.agent_a1, "x" * 50) == [a.id]
    # a prefix of letters beyond U+FFFF finds the words it begins
    assert paged(world.agent_a1, "𠀀") == [b.id]
    # an agent with no shops sees organisation replies and their own, nothing of teams
    nobody = make_person(world.org_a, Role.AGENT, [], username="no_shops")
    create_reply(
        world.supervisor_a, title="A1 team", scope="team", shop_account_ids=[world.shop_a1.id]
    )
    mine = create_reply(nobody, title="My own", scope="personal")
    assert paged(nobody, "") == [mine.id, b.id, a.id]


def test_an_archived_material_leaves_renders_at_once(api, world):
    material = services.material_link_create(
        actor=world.supervisor_a, name="Size chart", url="https://example.com/size"
    )
    reply = create_reply(world.supervisor_a, title="Sizes", material_ids=[material.id])
    conversation = make_conversation(world.shop_a1)
    client = api.as_user(world.agent_a1)
    render = f"{BASE}{reply.id}/render/"
    body = {"conversation_id": conversation.id}
    assert [a["id"] for a in client.post(render, body).json()["attachments"]] == [material.id]
    services.material_archive(actor=world.supervisor_a, material_id=material.id)
    assert client.post(render, body).json()["attachments"] == []
    assert Material.objects.get(id=material.id).is_archived


def test_the_libraries_one_process_holds_are_bounded(world, settings):
    settings.SCRM_QUICK_REPLY_CACHE_ENTRIES = 3
    a = [create_reply(world.supervisor_a, title=f"A{i}").id for i in range(2)]
    b = [create_reply(world.supervisor_b, title=f"B{i}").id for i in range(2)]
    assert {q.id for q in selectors.quick_reply_page_for(world.agent_a1).items} == set(a)
    assert set(library.held()) == {world.org_a.id}
    # when another organisation's library is read, the least recently used one makes room
    assert {q.id for q in selectors.quick_reply_page_for(world.agent_b).items} == set(b)
    assert library.held() == {world.org_b.id: 2}
    # and comes back, read again, when asked for
    assert {q.id for q in selectors.quick_reply_page_for(world.agent_a1).items} == set(a)
    assert library.held() == {world.org_a.id: 2}


def test_the_render_reads_the_buyer_and_recent_messages_in_order(api, world):
    # given an order card, then a newer one: the newest is the one the render fills from
    conversation = make_conversation(world.shop_a1, buyer_name="Zoë 王")
    add_message(conversation, type="ORDER_CARD", content={"order_id": "111"}, ago=1)
    add_message(conversation, type="ORDER_CARD", content={"order_id": "222"}, ago=5)
    add_message(conversation, text="where is it", ago=6)
    reply = create_reply(world.supervisor_a, body="{{ buyer_name }}: order {{ order_id }}")
    rendered = api.as_user(world.agent_a1).post(
        f"{BASE}{reply.id}/render/", {"conversation_id": conversation.id}, format="json"
    )
    assert rendered.json()["text"] == "Zoë 王: order 222"


def test_invalid_picker_cursor_is_a_clear_error(api, world):
    client = api.as_user(world.agent_a1)
    for cursor in ("not-base64!", "WyJhIiwgMV0", "WzFd"):  # junk, ["a", 1], [1]
        response = client.get(BASE, {"cursor": cursor})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.django_db(transaction=True)
def test_readers_in_other_threads_never_see_a_half_synced_library(world):
    # given a library being reworded in one thread while others search it
    replies = [create_reply(world.supervisor_a, title=f"alpha {i}").id for i in range(40)]
    errors, stop = [], threading.Event()

    def reader():
        try:
            while not stop.is_set():
                for word in ("alpha", "beta"):
                    page = selectors.quick_reply_page_for(world.supervisor_a, search=word)
                    # every reply served holds the word searched: one snapshot, not a mix
                    for q in page.items:
                        assert q.title.startswith(word), (word, q.title)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for round_ in range(6):
            word = "beta" if round_ % 2 == 0 else "alpha"
            for reply_id in replies[:10]:
                services.quick_reply_update(
                    actor=world.supervisor_a, quick_reply_id=reply_id, title=f"{word} {reply_id}"
                )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert errors == []


def test_a_picker_row_is_the_same_as_the_detail_of_that_reply(api, world):
    # given a team reply with every kind of field set, used once
    material = services.material_link_create(
        actor=world.supervisor_a, name="Size chart", url="https://example.com/size"
    )
    reply = create_reply(
        world.supervisor_a,
        title="Sizes",
        scope="team",
        shop_account_ids=[world.shop_a1.id, world.shop_a2.id],
        body="Hi {{ buyer_name }}, size {{ size }}.",
        translations={"zh-hans": "{{ buyer_name }}您好，尺码 {{ size }}。{{ order_id }}"},
        custom_fields=["size"],
        category="sizing",
        material_ids=[material.id],
    )
    services.quick_reply_use(
        actor=world.agent_a1,
        quick_reply_id=reply.id,
        conversation_id=make_conversation(world.shop_a1).id,
    )
    Member.objects.filter(user=world.agent_a1).update(time_zone="Asia/Shanghai")
    for user in (world.agent_a1, world.supervisor_a):
        client = APIClient()
        client.force_login(user)  # a session, as the browser has: times in the viewer's zone
        # the picker's row (from memory) and the detail (from the database) agree field by field
        row = client.get(BASE, {"search": "sizes"}).json()["results"][0]
        assert row == client.get(f"{BASE}{reply.id}/").json()
        # times as DRF renders them, in the viewer's time zone
        zone = Member.objects.get(user=user).time_zone or "UTC"
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            assert row["created_at"] == DateTimeField().to_representation(reply.created_at)
    assert row["variables"] == ["buyer_name", "size", "order_id"] and row["usage_count"] == 1
    assert row["can_manage"] is True and row["material_ids"] == [material.id]
