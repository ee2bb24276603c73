"""A group's channel-layer messages carry its consecutive events together (``bundled``): fewer
group sends and socket receives for the same events, in the same order."""

from __future__ import annotations

from scrm.events import EVENTS_PER_MESSAGE, bundled


def event(n: int) -> dict:
    return {"type": "inbox.event", "event": {"id": n, "type": "t", "data": {}}}


def ids(messages: list[dict]) -> list[list[int]]:
    out = []
    for m in messages:
        if m["type"] == "inbox.events":
            out.append([e["id"] for e in m["events"]])
        elif m["type"] == "inbox.event":
            out.append([m["event"]["id"]])
        else:
            out.append([m["type"]])
    return out


def test_consecutive_events_travel_together_up_to_the_limit():
    sent = list(range(1, 2 * EVENTS_PER_MESSAGE + 21))
    messages = bundled([event(n) for n in sent])
    assert [len(m) for m in ids(messages)] == [EVENTS_PER_MESSAGE, EVENTS_PER_MESSAGE, 20]
    assert [n for part in ids(messages) for n in part] == sent


def test_a_lone_event_and_other_messages_keep_their_form_and_place():
    control = {"type": "inbox.leave", "groups": ["shop.1"]}
    messages = bundled([event(1), event(2), control, event(3)])
    assert ids(messages) == [[1, 2], ["inbox.leave"], [3]]
    assert messages[1] is control
    assert messages[2] == event(3)  # alone: as it always was
    assert bundled([]) == []
