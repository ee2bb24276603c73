"""Webhook delivery over real HTTP: on demand (``deliver_webhooks``) or pushed in the background.

A notification is POSTed with the platform's signature in ``Authorization``. A failed attempt
(no answer or a non-2xx status) is queued again and retried after 2 s, 30 s, 3 min and 12 min:
the platform's 2 min / 30 min / 3 h / 12 h schedule compressed 60 times. A *dropped*
notification (``drop=``) is lost for good, as a notification that never arrives would be.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import httpx

from inbox.platforms.tiktok_shop.signing import webhook_signature

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator
    from inbox.platforms.tiktok_shop.simulator.state import Notification

logger = logging.getLogger(__name__)

RETRY_DELAYS = (2.0, 30.0, 180.0, 720.0)
TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def _post(client: httpx.Client, notification: Notification) -> int:
    headers = {
        "Authorization": webhook_signature(
            notification.app_key, notification.app_secret, notification.body
        ),
        "Content-Type": "application/json",
    }
    try:
        response = client.post(notification.address, content=notification.body, headers=headers)
    except httpx.HTTPError as exc:
        logger.info("simulator webhook to %s failed: %s", notification.address, type(exc).__name__)
        return 0
    return response.status_code


def deliver(
    sim: Simulator,
    batch: list[Notification],
    *,
    duplicate: int = 1,
    shuffle: bool = False,
    drop: float = 0.0,
    seed: int = 0,
    lose: float = 0.0,
) -> dict[str, Any]:
    """POST each notification ``duplicate`` times (shuffled, some dropped, if asked).

    ``drop`` loses each copy with that probability; ``lose`` loses a notification with every
    copy of it (one that never arrives, however many copies were to be sent).
    Returns ``{"sent", "dropped", "statuses": {http_status: count}}`` (and ``"lost"`` when
    ``lose`` is given); status 0 means the receiver could not be reached. Failed
    notifications go back to the queue for a retry.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test behaviour, not security
    lost = {n.notification_id for n in batch if lose > 0 and rng.random() < lose}
    kept = [n for n in batch if n.notification_id not in lost]
    sends = [n for n in kept for _ in range(max(1, duplicate))]
    if shuffle:
        rng.shuffle(sends)
    statuses: Counter[int] = Counter()
    dropped = 0
    delivered: set[str] = set()
    failed: set[str] = set()
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        for notification in sends:
            if drop > 0 and rng.random() < drop:
                dropped += 1
                continue
            status = _post(client, notification)
            statuses[status] += 1
            if 200 <= status < 300:
                delivered.add(notification.notification_id)
            else:
                failed.add(notification.notification_id)
    retries = []
    for notification in batch:
        nid = notification.notification_id
        if nid in failed and nid not in delivered and notification.attempts < len(RETRY_DELAYS):
            notification.not_before = time.monotonic() + RETRY_DELAYS[notification.attempts]
            notification.attempts += 1
            retries.append(notification)
    if retries:
        with sim.lock:
            sim.outbox.extend(retries)
    result: dict[str, Any] = {"sent": sum(statuses.values()), "dropped": dropped}
    if lose > 0:
        result["lost"] = len(lost)
    return {**result, "statuses": dict(statuses)}


class Pusher:
    """Background thread that delivers queued notifications shortly after they are queued."""

    BATCH_DELAY = 0.05

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wake(self) -> None:
        """Called with the simulator lock held: never blocks."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="tiktok-sim-webhooks", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        wait = 1.0
        while not self._stop.is_set():
            self._wake.wait(timeout=wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            time.sleep(self.BATCH_DELAY)
            now = time.monotonic()
            with self.sim.lock:
                due = [n for n in self.sim.outbox if n.not_before <= now]
                self.sim.outbox = [n for n in self.sim.outbox if n.not_before > now]
                # Wake for the next one held back (a retry, or a hold of the webhook faults).
                later = min((n.not_before for n in self.sim.outbox), default=now + 1.0)
            wait = min(1.0, max(0.0, later - time.monotonic() - self.BATCH_DELAY))
            if due:
                try:
                    self._push(due)
                except Exception:  # the push thread must survive anything
                    logger.exception("simulator webhook push failed")

    def _push(self, due: list[Notification]) -> None:
        """Deliver, with the faults ``set_webhook_faults`` set for the notifications they
        select (duplicates, shuffling within the batch, drops; the hold-back was applied when
        each was queued)."""
        faults = self.sim.push_faults
        hit = [n for n in due if faults and faulted(faults, n)]
        clean = [n for n in due if not (faults and faulted(faults, n))]
        if clean:
            deliver(self.sim, clean)
        if hit:
            deliver(
                self.sim,
                hit,
                duplicate=faults["duplicate"],
                shuffle=faults["shuffle"],
                drop=faults["drop"],
                seed=faults["rng"].randrange(2**32),
            )


def faulted(faults: dict[str, Any], notification: Notification) -> bool:
    """Whether the push faults apply to this notification (by its event type)."""
    types = faults.get("event_types")
    return types is None or notification.event_type in types
