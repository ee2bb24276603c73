"""No send path skips the sensitive-word monitor: the send entry points are found from the code.

A "send point" is code that creates text meant for a buyer or queues its delivery: an outbound
``Message`` created, an outbox action enqueued (any kind but the few known never to carry a
buyer's text), an after-sales decision stored (its comment goes to the platform, which shows it
to the buyer), a quick reply written, a message handed to a platform's ``send_message``. Each
one must reach ``screen_outgoing``: the function holding it calls it (directly or through the
functions it calls), or every function that calls it does. A new send path that skips the
monitor fails here, naming it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("inbox", "templates_app", "monitoring")
SCREEN = "screen_outgoing"

# Outbox kinds that carry no text to a buyer (checked to exist, so a rename is noticed).
NOT_TO_BUYERS = {
    "MARK_READ": "asks the platform to mark a conversation read",
    "SLA_ALERT_DELIVERY": "an SLA alert to the shop's own people (e-mail, webhook, chat)",
    "PROBLEM_WEEKLY_MAIL": "the weekly problem report to the supervisors (figures, no buyer words)",
}
QUICK_REPLY_WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}
# Send points that deliver what a screened path stored (checked to exist and to be the only
# exemptions): the key is "path:Class.function".
DELIVER_STORED = {
    "inbox/services/replies.py:ReplyDelivery.perform": "sends a stored Message as stored",
}
# The entry points known today: the scan must find each (so it is not finding nothing).
KNOWN = {
    "inbox/services/replies.py:message_send",
    "inbox/services/aftersales_decisions.py:after_sales_decide",
    "templates_app/services/quick_replies.py:quick_reply_create",
    "templates_app/services/quick_replies.py:quick_reply_update",
    "templates_app/services/quick_replies.py:quick_reply_import",
}


@dataclass
class Function:
    key: str
    calls: set[str] = field(default_factory=set)
    sends: list[str] = field(default_factory=list)  # "line: what"


def _called_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _send_of(node: ast.AST) -> str | None:
    """What makes ``node`` a send point, or None."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            text = ast.unparse(target)
            attr = target.attr if isinstance(target, ast.Attribute) else ""
            if attr in ("body", "translations") and "reply" in text:
                return f"writes {text}"
        return None
    if not isinstance(node, ast.Call):
        return None
    func, name = ast.unparse(node.func), _called_name(node)
    keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
    if name == "outbox_enqueue":
        kind = keywords.get("kind", "?")
        return None if kind in NOT_TO_BUYERS else f"outbox_enqueue(kind={kind})"
    if func in ("Message", "Message.objects.create") and "OUTBOUND" in keywords.get(
        "direction", ""
    ):
        return f"{func}(direction=OUTBOUND)"
    if func == "QuickReply" or (
        func.startswith("QuickReply.objects.") and name in QUICK_REPLY_WRITES
    ):
        return func
    rewrites = {"body", "translations"} & set(keywords) or "'body'" in ast.unparse(node)
    if func.startswith("QuickReply.objects.") and name in ("update", "bulk_update") and rewrites:
        return f"{name}(body)"
    if func in ("AfterSalesDecision", "AfterSalesDecision.objects.create"):
        return func
    if name == "send_message":
        return func
    return None


def _scan() -> dict[str, Function]:
    functions: dict[str, Function] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            _collect(ast.parse(path.read_text(encoding="utf-8")), rel, "", functions)
    return functions


def _collect(tree: ast.AST, rel: str, prefix: str, out: dict[str, Function]) -> None:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            _collect(node, rel, f"{prefix}{node.name}.", out)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            fn = Function(key=f"{rel}:{prefix}{node.name}")
            for inner in ast.walk(node):  # nested functions and lambdas count as the function's
                if isinstance(inner, ast.Call):
                    fn.calls.add(_called_name(inner))
                send = _send_of(inner)
                if send:
                    fn.sends.append(f"{getattr(inner, 'lineno', '?')}: {send}")
            out[fn.key] = fn


def _bare(key: str) -> str:
    return key.rsplit(":", 1)[1].rsplit(".", 1)[-1]


class Graph:
    def __init__(self, functions: dict[str, Function]) -> None:
        self.functions = functions
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.callers: dict[str, set[str]] = defaultdict(set)
        for key in functions:
            self.by_name[_bare(key)].append(key)
        for key, fn in functions.items():
            for name in fn.calls:
                for callee in self.by_name.get(name, ()):
                    self.callers[callee].add(key)
        self.reaching = self._reaching()
        self.covering = self._covering()

    def _reaching(self) -> set[str]:
        """The functions that call ``screen_outgoing`` or, transitively, one that does."""
        found = {key for key, fn in self.functions.items() if SCREEN in fn.calls}
        names = {_bare(key) for key in found}
        changed = True
        while changed:
            changed = False
            for key, fn in self.functions.items():
                if key not in found and fn.calls & names:
                    found.add(key)
                    names.add(_bare(key))
                    changed = True
        return found

    def _covering(self) -> set[str]:
        """Screening functions, and those whose callers (one at least) are all covered."""
        found = set(self.reaching)
        changed = True
        while changed:
            changed = False
            for key in self.functions:
                callers = self.callers.get(key, set()) - {key}
                if key not in found and callers and callers <= found:
                    found.add(key)
                    changed = True
        return found

    def reaches_screen(self, key: str) -> bool:
        return key in self.reaching

    def covered(self, key: str) -> bool:
        return key in self.covering


def _send_points(functions: dict[str, Function]) -> dict[str, list[str]]:
    return {key: fn.sends for key, fn in functions.items() if fn.sends}


def test_every_send_point_goes_through_the_monitor():
    functions = _scan()
    graph = Graph(functions)
    points = _send_points(functions)
    unscreened = {
        key: sends
        for key, sends in points.items()
        if key not in DELIVER_STORED and not graph.covered(key)
    }
    assert not unscreened, (
        "send paths that do not reach screen_outgoing (screen the text with "
        "monitoring.services.send_screening.screen_send and run inside violations_kept()):\n"
        + "\n".join(f"{key}: {sends}" for key, sends in sorted(unscreened.items()))
    )


def test_the_scan_finds_the_known_entry_points_and_its_exemptions_still_exist():
    functions = _scan()
    graph = Graph(functions)
    points = _send_points(functions)
    # every known entry point is, or calls, a send point, and screens on its own
    for key in KNOWN:
        assert key in functions, key
        assert graph.reaches_screen(key), key
    assert {
        "inbox/services/replies.py:message_send",
        "inbox/services/aftersales_decisions.py:after_sales_decide",
        "templates_app/services/quick_replies.py:_write",
    } <= set(points)
    for key in DELIVER_STORED:
        assert key in points, f"stale exemption: {key}"
    kinds = {
        send.split("kind=", 1)[1].rstrip(")")
        for sends in points.values()
        for send in sends
        if "kind=" in send
    }
    assert kinds >= {"REPLY", "DECISION_KIND"}
    source = "\n".join(
        p.read_text(encoding="utf-8") for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
    )
    for kind in NOT_TO_BUYERS:
        assert f"kind={kind}" in source, f"stale exemption: {kind}"


def test_a_new_send_path_that_skips_the_monitor_is_caught():
    # Given code like a bulk send that creates outbound messages without screening them
    bulk = """
def bulk_reply(*, actor, conversation_ids, text):
    for cid in conversation_ids:
        message = Message.objects.create(
            conversation_id=cid, direction=Direction.OUTBOUND, text=text
        )
        outbox_enqueue(kind=REPLY, conversation_id=cid, message_id=message.id)

def screened_reply(*, actor, conversation_id, text):
    text = screen_send(organisation_id=1, shop_account_id=1, text=text).text
    return _store(conversation_id, text)

def _store(conversation_id, text):
    return Message.objects.create(conversation_id=conversation_id, direction=Direction.OUTBOUND)

def screen_send(**kwargs):
    return screen_outgoing(**kwargs)
"""
    functions = _scan()
    _collect(ast.parse(bulk), "inbox/services/bulk.py", "", functions)
    graph = Graph(functions)
    # Then the scan names it, and accepts the one whose caller screens
    assert not graph.covered("inbox/services/bulk.py:bulk_reply")
    assert graph.covered("inbox/services/bulk.py:_store")
    assert functions["inbox/services/bulk.py:bulk_reply"].sends
