"""Events that follow one another to the same group travel in one channel-layer message
(``bundled``): fewer group sends and socket receives for the same events, in the same order;
events of two groups interleaved are not joined across the other's (a socket in both would get
them out of order)."""

from __future__ import annotations

from scrm.events import EVENTS_PER_MESSAGE, bundled


def event(n: int) -> dict:
    return {"type": "inbox.event", "event": {"id": n, "type": "t", "data": {}}}


def ids(messages: list[dict]) -> list[list]:
    out: list[list] = []
    for m in messages:
        if m["type"] == "inbox.events":
            out.append([e["id"] for e in m["events"]])
        elif m["type"] == "inbox.event":
            out.append([m["event"]["id"]])
        else:
            out.append([m["type"]])
    return out


def test_events_in_a_row_travel_together_up_to_the_limit():
    sent = list(range(1, 2 * EVENTS_PER_MESSAGE + 21))
    messages = bundled([("shop.1", event(n)) for n in sent])
    assert list(messages) == ["shop.1"]
    parts = ids(messages["shop.1"])
    assert [len(p) for p in parts] == [EVENTS_PER_MESSAGE, EVENTS_PER_MESSAGE, 20]
    assert [n for part in parts for n in part] == sent


def test_interleaved_groups_are_not_joined_across_each_other():
    # shop, supervisors, shop, shop, supervisors, shop: only the two shop events in a row join
    order = ["shop.1", "org.1.supervisors", "shop.1", "shop.1", "org.1.supervisors", "shop.1"]
    messages = bundled([(group, event(n)) for n, group in enumerate(order, start=1)])
    assert ids(messages["shop.1"]) == [[1], [3, 4], [6]]
    assert ids(messages["org.1.supervisors"]) == [[2], [5]]


def test_a_lone_event_and_other_messages_keep_their_form_and_place():
    control = {"type": "inbox.leave", "groups": ["shop.1"]}
    messages = bundled([("user.1", m) for m in (event(1), event(2), control, event(3))])
    assert ids(messages["user.1"]) == [[1, 2], ["inbox.leave"], [3]]
    assert messages["user.1"][1] is control
    assert messages["user.1"][2] == event(3)  # alone: as it always was
    assert bundled([]) == {}
