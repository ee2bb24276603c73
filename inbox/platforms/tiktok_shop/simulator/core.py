"""The simulator's state and Python control API (what tests and the standalone CLI drive).

One :class:`Simulator` holds apps, shops, grants, conversations, returns, webhook
subscriptions, queued notifications and injected faults, all in memory behind one lock.
The HTTP side lives in :mod:`.api`; webhook delivery in :mod:`.delivery`; buyer traffic in
:mod:`.traffic`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from inbox.platforms.tiktok_shop.simulator import delivery
from inbox.platforms.tiktok_shop.simulator.accounts import AccountsMixin
from inbox.platforms.tiktok_shop.simulator.cases import CasesMixin
from inbox.platforms.tiktok_shop.simulator.commerce import Cancellation, Order, ReturnOrder
from inbox.platforms.tiktok_shop.simulator.ids import IdGenerator
from inbox.platforms.tiktok_shop.simulator.state import (
    EVENT_TYPES,
    App,
    AuthCode,
    Buyer,
    Conversation,
    Fault,
    Grant,
    Message,
    Notification,
    Shop,
    Subscription,
    dumps,
)

# delay: wait, then act; delay_after: act, then answer late.
FAULT_KINDS = frozenset({"5xx", "rate_limit", "delay", "delay_after"})


class Simulator(AccountsMixin, CasesMixin):
    """A faithful, in-memory TikTok Shop Open API (customer service, auth, events, returns)."""

    def __init__(
        self,
        *,
        auto_push: bool = True,
        rate_limit_qps: float | None = None,
        clock: Callable[[], float] = time.time,
        echo_shop_messages: bool = True,
    ) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.auto_push = auto_push
        self.rate_limit_qps = rate_limit_qps
        # A shop's own sends also raise NEW_MESSAGE (sender role SHOP), as the platform's
        # event description ("a new message is sent in a conversation") suggests.
        self.echo_shop_messages = echo_shop_messages
        self.ids = IdGenerator()
        self.apps: dict[str, App] = {}
        self.shops: dict[str, Shop] = {}
        self.shops_by_cipher: dict[str, Shop] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.grants_by_access: dict[str, Grant] = {}
        self.grants_by_refresh: dict[str, Grant] = {}
        self.conversations: dict[str, Conversation] = {}
        self.conversation_by_buyer: dict[tuple[str, str], str] = {}
        # Each shop's conversations, as the platform indexes them: a list call reads its shop's
        # alone (a scan of every shop's grew with the soak's hour until the simulator, on the
        # same machine, took the CPU the workers needed). Objects, not ids: a test that gives
        # a conversation another id keeps it listed; one no longer in ``conversations`` is not.
        self.conversations_by_shop: dict[str, list[Conversation]] = {}
        self.buyers: dict[str, Buyer] = {}
        self.returns: dict[str, ReturnOrder] = {}
        self.orders: dict[str, Order] = {}
        self.cancellations: dict[str, Cancellation] = {}
        self.sent: list[dict[str, Any]] = []
        self.outbox: list[Notification] = []
        self.faults: list[Fault] = []
        self.withdraw_before_decision_armed: dict[str, int] = {}
        # Set by SimulatorServer.start, or by whoever mounts the app (the demo).
        self.public_url = ""
        # Faults of the background push (set_webhook_faults), as deliver_webhooks takes them.
        self.push_faults: dict[str, Any] = {}
        self.buckets: dict[tuple[str, str, str], tuple[float, float]] = {}
        # Authenticated API calls answered, by (method, route template): what a shop costs
        self.api_calls: Counter[tuple[str, str]] = Counter()
        # The latest authenticated calls: (method, route template, query, JSON body).
        self.requests: deque[tuple[str, str, dict[str, str], Any]] = deque(maxlen=2000)
        self.pusher = delivery.Pusher(self) if auto_push else None
        self.traffic: Any = None
        from inbox.platforms.tiktok_shop.simulator.api import build_app

        self.asgi_app = build_app(self)

    # --- webhooks ----------------------------------------------------------------------------
    def subscribe(self, shop_id: str, event_type: str, address: str) -> None:
        """Same effect as PUT /event/202309/webhooks."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event_type {event_type!r}")
        with self.lock:
            self._subscribe(self.shops[shop_id], event_type, address)

    def _subscribe(self, shop: Shop, event_type: str, address: str) -> None:
        now = int(self.clock())
        existing = shop.webhooks.get(event_type)
        created = existing.create_time if existing else now
        shop.webhooks[event_type] = Subscription(event_type, address, created, now)

    def _queue_event(self, shop: Shop, event_type: str, data: dict[str, Any]) -> None:
        """Queue a notification to the shop's subscribed address (caller holds the lock)."""
        subscription = shop.webhooks.get(event_type)
        if subscription is None:
            return
        app = self.apps[shop.app_key]
        notification_id = self.ids.next()
        envelope = {
            "type": EVENT_TYPES[event_type],
            "tts_notification_id": notification_id,
            "shop_id": shop.shop_id,
            "timestamp": int(self.clock()),
            "data": data,
        }
        notification = Notification(
            notification_id=notification_id,
            app_key=app.app_key,
            app_secret=app.app_secret,
            address=subscription.address,
            body=dumps(envelope).encode(),
            event_type=event_type,
        )
        faults = self.push_faults
        if (
            self.pusher is not None
            and faults.get("jitter")
            and delivery.faulted(faults, notification)
        ):
            notification.not_before = time.monotonic() + faults["rng"].uniform(0, faults["jitter"])
        self.outbox.append(notification)
        if self.pusher is not None:
            self.pusher.wake()

    def pending_webhooks(self) -> int:
        with self.lock:
            return len(self.outbox)

    def deliver_webhooks(
        self,
        *,
        duplicate: int = 1,
        shuffle: bool = False,
        drop: float = 0.0,
        seed: int = 0,
        event_types: list[str] | None = None,
        lose: float = 0.0,
    ) -> dict[str, Any]:
        """POST the queued notifications now (only those of ``event_types`` when given; the
        rest stay queued); see :func:`.delivery.deliver` (``drop`` loses copies, ``lose``
        whole notifications)."""
        with self.lock:
            wanted = set(event_types) if event_types is not None else None
            batch = [n for n in self.outbox if wanted is None or n.event_type in wanted]
            self.outbox = [
                n for n in self.outbox if wanted is not None and n.event_type not in wanted
            ]
        return delivery.deliver(
            self, batch, duplicate=duplicate, shuffle=shuffle, drop=drop, seed=seed, lose=lose
        )

    def set_webhook_faults(
        self,
        *,
        duplicate: int = 1,
        shuffle: bool = False,
        drop: float = 0.0,
        jitter: float = 0.0,
        seed: int = 0,
        event_types: list[str] | None = None,
    ) -> None:
        """Faults of the background push (``auto_push``), for notifications of ``event_types``
        (all when None): each sent ``duplicate`` times, shuffled within a batch, a share
        ``drop`` lost for good, each held back a random 0..``jitter`` seconds (so they arrive
        out of order across batches). All defaults: no faults."""
        if event_types is not None and not set(event_types) <= set(EVENT_TYPES):
            raise ValueError(f"event_types must be among {sorted(EVENT_TYPES)}")
        if duplicate <= 1 and not shuffle and drop <= 0 and jitter <= 0:
            with self.lock:
                self.push_faults = {}
            return
        with self.lock:
            self.push_faults = {
                "duplicate": max(1, int(duplicate)),
                "shuffle": bool(shuffle),
                "drop": float(drop),
                "jitter": max(0.0, float(jitter)),
                "rng": random.Random(seed),  # noqa: S311 - simulated faults, not security
                "event_types": None if event_types is None else frozenset(event_types),
            }

    # --- buyers ------------------------------------------------------------------------------
    def buyer_message(
        self,
        shop_id: str,
        *,
        buyer_user_id: str,
        nickname: str,
        text: str | None = None,
        type: str = "TEXT",
        content: dict[str, Any] | None = None,
        at: float | None = None,
    ) -> tuple[str, str]:
        """A buyer writes to a shop; returns (conversation_id, message_id).

        Queues NEW_MESSAGE only, the first message of a conversation too: TikTok's
        NEW_CONVERSATION is about customer-service agents (:meth:`agent_join`), so a new chat
        is found by its message (or the conversation list), never by that event."""
        if content is None:
            content = {"content": text or ""}
        with self.lock:
            shop = self.shops[shop_id]
            conversation, _ = self._conversation_for(shop, buyer_user_id, nickname, at)
            buyer = conversation.buyer
            message = self._append(
                conversation, "BUYER", buyer.im_user_id, buyer.nickname, type, content, at
            )
            self._queue_event(shop, "NEW_MESSAGE", message.to_webhook())
            return conversation.id, message.id

    def agent_join(self, shop_id: str, conversation_id: str) -> None:
        """A customer-service agent joins a conversation: queues NEW_CONVERSATION (13), which
        TikTok documents as "triggers when a customer service agent joins or leaves a
        conversation", with its ``data`` ``{conversation_id, create_time}`` (the
        conversation's creation time). KeyError for a conversation the shop does not have."""
        self._agent_event(shop_id, conversation_id)

    def agent_leave(self, shop_id: str, conversation_id: str) -> None:
        """A customer-service agent leaves a conversation: the same NEW_CONVERSATION (13) as
        :meth:`agent_join` (TikTok's payload does not say which of the two happened)."""
        self._agent_event(shop_id, conversation_id)

    def _agent_event(self, shop_id: str, conversation_id: str) -> None:
        with self.lock:
            shop = self.shops[shop_id]
            conversation = self.conversations.get(conversation_id)
            if conversation is None or conversation.shop_id != shop_id:
                raise KeyError(f"shop {shop_id!r} has no conversation {conversation_id!r}")
            self._queue_event(
                shop,
                "NEW_CONVERSATION",
                {"conversation_id": conversation.id, "create_time": conversation.create_time},
            )

    def _buyer(self, user_id: str, nickname: str) -> Buyer:
        buyer = self.buyers.get(user_id)
        if buyer is None:
            buyer = self.buyers[user_id] = Buyer(user_id, self.ids.next(), nickname)
        return buyer

    def _conversation_for(
        self, shop: Shop, buyer_user_id: str, nickname: str, at: float | None = None
    ) -> tuple[Conversation, bool]:
        key = (shop.shop_id, buyer_user_id)
        if key in self.conversation_by_buyer:
            return self.conversations[self.conversation_by_buyer[key]], False
        created = int(self.clock() if at is None else at)
        conversation = Conversation(
            self.ids.next(), shop.shop_id, self._buyer(buyer_user_id, nickname), created
        )
        self.conversations[conversation.id] = conversation
        self.conversations_by_shop.setdefault(shop.shop_id, []).append(conversation)
        self.conversation_by_buyer[key] = conversation.id
        return conversation, True

    def _append(
        self,
        conversation: Conversation,
        role: str,
        im_user_id: str,
        nickname: str,
        type_: str,
        content: dict[str, Any],
        at: float | None = None,
    ) -> Message:
        when = self.clock() if at is None else at
        # "Unique within the conversation and time-related": milliseconds plus a sequence.
        index = str(int(when * 1000) * 1000 + len(conversation.messages) % 1000)
        message = Message(
            id=self.ids.next(),
            conversation_id=conversation.id,
            type=type_,
            content=dumps(content),
            create_time=int(when),
            index=index,
            role=role,
            im_user_id=im_user_id,
            nickname=nickname,
        )
        conversation.messages.append(message)
        return message

    # --- orders, cancellations, returns (see .orders and .returns) ---------------------------
    # --- inspection --------------------------------------------------------------------------
    def sent_messages(self, shop_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(s) for s in self.sent if shop_id is None or s["shop_id"] == shop_id]

    def messages(self, shop_id: str, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            conversation = self.conversations[conversation_id]
            if conversation.shop_id != shop_id:
                raise KeyError(conversation_id)
            return [m.to_api() for m in conversation.messages]

    def shop_conversations(self, shop_id: str) -> list[Conversation]:
        """The shop's conversations (the caller holds ``lock``)."""
        return [
            c
            for c in self.conversations_by_shop.get(shop_id, ())
            if self.conversations.get(c.id) is c
        ]

    def all_buyer_message_ids(self, shop_id: str | None = None) -> set[str]:
        with self.lock:
            return {
                m.id
                for c in self.conversations.values()
                if shop_id is None or c.shop_id == shop_id
                for m in c.messages
                if m.role == "BUYER"
            }

    # --- faults and traffic ------------------------------------------------------------------
    def set_fault(
        self,
        path_prefix: str,
        kind: str,
        *,
        count: int = 1,
        delay: float = 0.0,
        method: str | None = None,
    ) -> None:
        """Make the next ``count`` API requests under ``path_prefix`` fail or wait; with
        ``method``, only requests of that HTTP method (a platform slow to take writes: every
        ``POST`` under ``/customer_service/``)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {sorted(FAULT_KINDS)}")
        if method is not None and method.upper() not in {"GET", "POST", "PUT", "DELETE"}:
            raise ValueError("fault method must be GET, POST, PUT or DELETE")
        with self.lock:
            self.faults.append(
                Fault(path_prefix, kind, count, delay, method.upper() if method else None)
            )

    def clear_faults(self) -> None:
        """Remove every injected fault: the API's and the background push's webhook faults
        (an armed buyer withdrawal is buyer behaviour and stays)."""
        with self.lock:
            self.faults.clear()
            self.push_faults = {}

    def take_fault(self, path: str, method: str = "GET") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.remaining > 0
                    and path.startswith(fault.path_prefix)
                    and fault.method in (None, method)
                ):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def allow_request(self, app_key: str, method: str, route: str) -> bool:
        """Token bucket per (app, API) at ``rate_limit_qps``; always true when unset."""
        qps = self.rate_limit_qps
        if not qps:
            return True
        key = (app_key, method, route)
        capacity = max(1.0, qps)
        with self.lock:
            now = self.clock()
            tokens, last = self.buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - last) * qps)
            allowed = tokens >= 1.0
            self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return allowed

    def start_traffic(
        self,
        *,
        per_minute: float = 6,
        shop_ids: list[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """Start (or restart) simulated buyers writing at about ``per_minute`` messages."""
        from inbox.platforms.tiktok_shop.simulator.traffic import Traffic

        self.stop_traffic()
        self.traffic = Traffic(self, per_minute=per_minute, shop_ids=shop_ids, seed=seed)
        self.traffic.start()

    def stop_traffic(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
            self.traffic = None

    def close(self) -> None:
        """Stop the background threads (traffic and webhook push)."""
        self.stop_traffic()
        if self.pusher is not None:
            self.pusher.stop()
