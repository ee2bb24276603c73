"""Celery tasks of the inbox: thin wrappers that take ids and own their retry policy."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from inbox.models import ShopAccount
from inbox.platforms.base import PlatformError
from inbox.services import ingestion, outbox, webhooks
from scrm.batching import Batcher
from scrm.broker import QueueDepth
from scrm.memo import work_memo

logger = logging.getLogger(__name__)

DELIVERY_MAX_RETRIES = 6


def backoff(retries: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: up to 2, 4, 8 … seconds, at most ``cap``."""
    return random.uniform(base / 2, min(cap, base * 2**retries))  # noqa: S311 - not security


@shared_task(bind=True, max_retries=5, acks_late=True)
def process_webhook_event(self, event_id: int) -> str:
    try:
        return webhooks.webhook_event_process(event_id=event_id)
    except PlatformError as exc:
        if exc.retryable and self.request.retries < self.max_retries:
            raise self.retry(countdown=backoff(self.request.retries), exc=exc) from exc
        # The backfill will pick the messages up; keep the reason (no personal data in it).
        webhooks.webhook_event_failed(event_id=event_id, reason=type(exc).__name__)
        return "failed"


@shared_task(acks_late=True)
def process_webhook_events(event_ids: list[int]) -> dict[str, int]:
    """A batch queued by the ack path: each conversation's notifications in one platform read,
    groups one after another; a group that fails is retried event by event
    (``process_webhook_event``), so it never holds up or repeats the others.

    A run's conversations are read from the platform first, then stored in one transaction
    (``ingestion.conversations_store``: a BEGIN, a COMMIT, a feed INSERT and a push for all of
    them instead of each); if that transaction fails, each is stored again alone from its read.

    The batch's bookkeeping is a few statements whatever its size: the events read, then per
    run of up to ``MARK_EVERY_GROUPS`` groups (cut short after ``MARK_EVERY_SECONDS``) one
    UPDATE counting an attempt on its events before they are acted on and one writing their
    outcomes after (one per distinct outcome). So an event acted on is marked within about a
    second, before the stale sweep or the give-up could take it for one never tried; a worker
    killed in the middle of a run leaves that run's groups ``received``, to be queued again by
    the sweep (they change nothing the second time: a message is stored once)."""
    with work_memo():  # each shop's SLA rules read once a batch, not once a conversation
        return _webhook_events_process(event_ids)


def _webhook_events_process(event_ids: list[int]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    todo: list[tuple[list[webhooks.WebhookEvent], list[webhooks.WebhookEvent]]] = []
    for group in webhooks.webhook_event_groups(event_ids=event_ids):
        events = webhooks.webhook_events_received(group)
        if events:
            todo.append((group, events))
        else:  # a redelivered batch: these are final already
            outcomes[group[0].status] = outcomes.get(group[0].status, 0) + len(group)
    counted: set[int] = set()
    start = 0  # the first group not acted on yet
    while start < len(todo):
        run = todo[start : start + MARK_EVERY_GROUPS]
        fresh = [e.id for _, events in run for e in events if e.id not in counted]
        webhooks.webhook_events_attempted(event_ids=fresh)
        counted.update(fresh)
        done: dict[webhooks.Outcome, list[int]] = {}
        reads: list[tuple[int, list[webhooks.WebhookEvent], ingestion.ConversationRead]] = []
        began = time.monotonic()
        try:
            for group, events in run:
                start += 1
                read = _group_begin(events, done)
                if isinstance(read, str):
                    outcomes[read] = outcomes.get(read, 0) + len(group)
                else:
                    reads.append((len(group), events, read))
                if time.monotonic() - began >= MARK_EVERY_SECONDS:
                    break
        finally:
            # What was read is stored even when the run is cut short (a warm shutdown's
            # SystemExit): its groups are then marked with the others done.
            try:
                for outcome, n in _reads_store(reads, done).items():
                    outcomes[outcome] = outcomes.get(outcome, 0) + n
            finally:
                webhooks.webhook_events_mark(outcomes=done)
    return outcomes


# A batch writes its groups' outcomes after this many groups, or sooner once this long has
# passed since the run began (``process_webhook_events``). A run's conversations are stored in
# one transaction.
MARK_EVERY_GROUPS = 8
MARK_EVERY_SECONDS = 1.0


def _group_begin(
    events: list[webhooks.WebhookEvent], done: dict[webhooks.Outcome, list[int]]
) -> str | ingestion.ConversationRead:
    """The first half of a group (attempt counted): a conversation's messages read from the
    platform, to be stored with the run's others (``_reads_store``); any other group acted on
    at once. Returns the read, or the group's status when it is done with: a handled outcome
    joins ``done`` to be written with its run's (``_group_failed`` for a failure)."""
    try:
        result = webhooks.webhook_event_group_begin(events=events)
    except Exception as exc:
        return _group_failed(events, exc)
    if isinstance(result, ingestion.ConversationRead):
        return result
    done.setdefault(result, []).extend(event.id for event in events)
    return result.status


def _reads_store(
    reads: list[tuple[int, list[webhooks.WebhookEvent], ingestion.ConversationRead]],
    done: dict[webhooks.Outcome, list[int]],
) -> dict[str, int]:
    """Store a run's conversations together (``ingestion.conversations_store``: one
    transaction); when that fails, which rolls all of them back, each is stored again alone
    from its read, so one conversation's failure costs the others nothing but the time.
    Returns the groups' statuses, counted by the group's events (as for the other groups)."""
    if not reads:
        return {}
    statuses: dict[str, int] = {}
    processed = webhooks.Outcome(webhooks.WebhookEventStatus.PROCESSED)
    try:
        ingestion.conversations_store([read for _, _, read in reads])
    except Exception as exc:
        # The class only: the message could quote a row (personal data).
        logger.warning(
            "%s conversations not stored together (%s): storing them one by one",
            len(reads),
            type(exc).__name__,
        )
    else:
        done.setdefault(processed, []).extend(e.id for _, events, _ in reads for e in events)
        return {processed.status: sum(size for size, _, _ in reads)}
    for size, events, read in reads:
        try:
            ingestion.messages_store(
                shop=read.shop,
                conversation_id=read.conversation_id,
                messages=read.fresh,
                absent=read.absent,
            )
        except Exception as exc:
            status = _group_failed(events, exc)
        else:
            done.setdefault(processed, []).extend(event.id for event in events)
            status = processed.status
        statuses[status] = statuses.get(status, 0) + size
    return statuses


def _group_failed(events: list[webhooks.WebhookEvent], exc: Exception) -> str:
    """A group that raised: failed for good when the platform refused it for good (the
    backfill picks its messages up), else queued again event by event."""
    ids = [event.id for event in events]
    if isinstance(exc, PlatformError) and not exc.retryable:
        for event_id in ids:
            webhooks.webhook_event_failed(event_id=event_id, reason=type(exc).__name__)
        return "failed"
    if not isinstance(exc, PlatformError):
        logger.warning("webhook events %s failed: %s", ids, type(exc).__name__)
    for event_id in ids:
        process_webhook_event.apply_async((event_id,), countdown=backoff(0))
    return "retrying"


def _send_webhook_batch(event_ids: Sequence[int]) -> None:
    process_webhook_events.delay(list(event_ids))


WEBHOOK_BATCH = 50  # events a processing task takes at most
# How long the first delivery of a batch waits for others. A task's fixed cost (its Celery
# message, the worker's trace, the batch's bookkeeping statements) is paid per batch: at 10 ms,
# deliveries at 100/s made tasks of one or two events and the soak's workers fell behind; at
# 50 ms they share tasks of about five (docs/performance.md, issue 18), for 40 ms more lag.
WEBHOOK_LINGER = settings.SCRM_WEBHOOK_LINGER_SECONDS  # 0.05 unless set
# When the workers are behind, a batch gathers longer: its task would wait in the queue anyway,
# so the wait moves from the queue to the batch and costs no lag, while each task carries up to
# WEBHOOK_BATCH events instead of about five and its fixed cost is paid that much less often
# (at 100/s a backlog kept growing from tasks of five events).
WEBHOOK_LINGER_BEHIND = settings.SCRM_WEBHOOK_LINGER_BEHIND_SECONDS  # 0.5 unless set
# "Behind": at least this many tasks wait in the workers' main queue, five a worker process
# (about five events each at 100/s: a second of their work and more); caught up again below
# half of it, so a queue hovering at the line does not switch the linger batch by batch.
WEBHOOK_BEHIND_TASKS = max(20, 5 * settings.CELERY_WORKER_CONCURRENCY)
WEBHOOK_CAUGHT_UP_TASKS = WEBHOOK_BEHIND_TASKS // 2

queue_depth = QueueDepth(settings.CELERY_TASK_DEFAULT_QUEUE)
_behind = False


def webhook_linger() -> float:
    """How long the next batch of acknowledged webhooks gathers before its task is queued:
    ``WEBHOOK_LINGER``, or ``WEBHOOK_LINGER_BEHIND`` while the workers are behind."""
    global _behind
    depth = queue_depth()
    if depth is None:
        _behind = False
    elif depth >= WEBHOOK_BEHIND_TASKS:
        _behind = True
    elif depth < WEBHOOK_CAUGHT_UP_TASKS:
        _behind = False
    return max(WEBHOOK_LINGER, WEBHOOK_LINGER_BEHIND) if _behind else WEBHOOK_LINGER


_webhook_batches: Batcher[int] = Batcher(
    _send_webhook_batch, linger=webhook_linger, max_items=WEBHOOK_BATCH, name="webhook-tasks"
)


def queue_webhook_processing(event_id: int) -> None:
    """Join the next batch message to the workers (within ~50 ms; 0.5 s while they are
    behind), off the ack's path: Celery's in services mode, the in-process worker in embedded
    mode. Eager tasks (the test suite): process now, in the caller."""
    if process_webhook_event.app.conf.task_always_eager:
        process_webhook_event.delay(event_id)
    else:
        _webhook_batches.add(event_id)


def webhook_batches_drain(timeout: float = 5.0) -> bool:
    """Wait until every queued batch has been sent to the broker (tests, shutdown)."""
    return _webhook_batches.drain(timeout)


@shared_task
def reprocess_stale_webhooks() -> int:
    """Periodic: stored webhooks whose processing task was lost are queued again, once a lease
    each, in batches as the ack path queues them (a conversation's events in one platform read);
    those that kept failing are given up first, visibly."""
    webhooks.webhook_events_give_up()
    ids = webhooks.webhook_events_stale_claim()
    for start in range(0, len(ids), WEBHOOK_BATCH):
        try:
            process_webhook_events.delay(ids[start : start + WEBHOOK_BATCH])
        except Exception:  # the broker refused: those not queued go to the next sweep
            webhooks.webhook_events_requeue_release(event_ids=ids[start:])
            logger.warning("%d stale webhook events not queued", len(ids) - start, exc_info=True)
            return start
    return len(ids)


@shared_task(bind=True, max_retries=DELIVERY_MAX_RETRIES, acks_late=True)
def deliver_outbox_action(self, action_id: int) -> str:
    """One attempt at an outbox action of any kind (a reply, a mark-read, ...)."""
    try:
        return outbox.outbox_deliver(action_id=action_id)
    except Exception as exc:
        # Platform trouble, or our own (a locked database, a bug): retried with backoff, then
        # visibly failed; never left "sending" for ever.
        delivery_error = outbox.delivery_error_retryable(exc) is not None
        if self.request.retries >= self.max_retries:
            reason = (
                outbox.outbox_failure_reason(action_id, exc)
                if delivery_error
                else ("internal error")
            )
            outbox.outbox_fail(
                action_id=action_id,
                reason=f"Gave up after {self.request.retries + 1} tries: {reason}",
            )
            return "failed"
        wait = float(getattr(exc, "retry_after", 0) or 0) if delivery_error else 0.0
        if not delivery_error:
            logger.warning("outbox action %s failed: %s", action_id, type(exc).__name__)
        countdown = max(wait, backoff(self.request.retries))
        # On the row first: if this worker dies while the retry waits in its memory, the sweep
        # takes the action up shortly after this time instead of after the broker's timeout.
        # The database may be what failed (a restart, a pool with no live connection): the
        # retry is queued all the same; the sweep finds the row by its lease meanwhile.
        try:
            outbox.outbox_next_attempt_set(
                action_id=action_id, at=timezone.now() + timedelta(seconds=countdown)
            )
        except Exception as record_error:
            logger.warning(
                "outbox action %s: its next attempt not recorded: %s",
                action_id,
                type(record_error).__name__,
            )
        raise self.retry(countdown=countdown, exc=exc) from exc


def _backfill_queued_key(shop_account_id: int, stream: str) -> str:
    return f"scrm:backfill-queued:{shop_account_id}:{stream}"


@shared_task(acks_late=True)
def backfill_shop(shop_account_id: int, stream: str | None = None) -> int:
    """One stream of a shop from its cursor (every stream if none is named)."""
    try:
        shop = ShopAccount.objects.get(id=shop_account_id)
        if not shop.is_active:  # disconnected after this task was queued
            return 0
        try:
            return ingestion.shop_backfill(shop=shop, streams=None if stream is None else [stream])
        except PlatformError as exc:
            logger.warning(
                "backfill of shop %s (%s) failed: %s", shop_account_id, stream, type(exc).__name__
            )
            return 0
    finally:
        if stream is not None:  # the periodic tick may queue this stream again
            cache.delete(_backfill_queued_key(shop_account_id, stream))


@shared_task
def backfill_all_shops() -> int:
    """Periodic: queue a backfill of each stream of every active shop account (a task each,
    so a slow or failing stream never holds back another); returns how many shops.

    A stream whose last backfill is still queued or running is not queued again: with 200
    shops the tick queued 600 tasks a minute whether or not the workers had done the last
    minute's, and under load the queue grew without end (bench/soak). The mark is a cache key
    the task removes when it ends; a task lost with its worker leaves the key to expire after
    ``SCRM_BACKFILL_QUEUED_SECONDS``, and the stream is queued again then.

    A stream whose last runs stored nothing rests until its ``next_run_at``
    (``ingestion.backfill_wait``: up to ``SCRM_BACKFILL_QUIET_MAX_SECONDS``): with the webhooks
    delivering everything, most of those tasks only confirmed it (a tenth of the workers' time
    in the soak at 200 shops). So do the streams of a shop whose webhooks are still waiting for
    the workers, for as long as a quiet stream rests (``ingestion.backfill_resting``)."""
    ids = list(ShopAccount.objects.filter(is_active=True).values_list("id", flat=True))
    ttl = settings.SCRM_BACKFILL_QUEUED_SECONDS
    resting = ingestion.backfill_resting()
    for shop_id in ids:
        for stream in ingestion.SYNC_STREAM_READERS:
            if (shop_id, stream) in resting:
                continue
            key = _backfill_queued_key(shop_id, stream)
            if not cache.add(key, True, timeout=ttl):
                continue
            try:
                backfill_shop.delay(shop_id, stream)
            except Exception:  # the broker refused: unmark, the next tick tries again
                cache.delete(key)
                logger.warning(
                    "backfill of shop %s (%s) not queued", shop_id, stream, exc_info=True
                )
    return len(ids)


@shared_task
def sweep_outbox() -> int:
    """Periodic: outbox actions of every kind left pending/sending by a lost task or a dead
    worker are queued again (an attempt after the first checks the platform, so nothing is done
    twice); those open past their kind's age limit fail visibly first."""
    outbox.outbox_give_up_stale()
    ids = outbox.outbox_stuck_claim()
    for action_id in ids:
        deliver_outbox_action.delay(action_id)
    return len(ids)


@shared_task
def wake_snoozed_conversations() -> int:
    """Periodic: snoozed conversations whose time has come go back to the open queue."""
    from inbox.services.conversations import conversations_wake_snoozed

    return conversations_wake_snoozed()


@shared_task(acks_late=True)
def follow_ups_remind() -> int:
    """Every minute: remind the owners of follow-ups that came due (once each; a re-run or a
    second worker reminds nobody twice). Periodic, never an ETA task."""
    from inbox.services.profiles.reminders import follow_ups_remind as remind

    return remind().reminded
