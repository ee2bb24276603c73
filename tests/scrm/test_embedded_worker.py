"""The embedded mode's in-process worker (scrm/worker.py): background work never runs inside
the request that asked for it, retries wait without holding a thread, and a task that fails
ends alone.

The suite runs tasks eagerly (tests/_env.py); each test here starts the real worker instead,
as ``manage.py serve`` does in embedded mode. They run in both modes (the worker is the same
code on PostgreSQL), except the one that starts ``manage.py serve`` itself on SQLite.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from celery import shared_task
from django.conf import settings as django_settings
from django.db import connection, transaction
from kombu.exceptions import EncodeError

from inbox.models import Conversation, Message
from inbox.platforms.tiktok_shop.adapter import SEND_MESSAGE_PATH
from scrm.celery import app as celery_app
from scrm.channel_layer import InMemoryChannelLayer
from scrm.scheduler import Scheduler
from scrm.worker import InProcessWorker, background_stop, worker_start, worker_stop
from tests.inbox.platform_world import start_platform
from tests.serve import free_port, serve_process
from tests.serve import wait_until as serve_wait_until

# --- tasks of this module (registered on the project's Celery app) ----------------------------
runs: dict[str, list[Any]] = defaultdict(list)


@shared_task(bind=True, max_retries=3)
def fails_once_then_retries(self, key: str, countdown: float) -> str:
    runs[key].append(time.monotonic())
    if len(runs[key]) == 1:
        raise self.retry(countdown=countdown)
    return "done"


@shared_task
def note_the_run(key: str, *extra: object) -> None:
    runs[key].append(time.monotonic())
    runs[key + ":args"].append(extra)


@shared_task
def periodic_sweep() -> None:
    runs["sweep"].append(threading.current_thread().name)


@shared_task
def raises(key: str) -> None:
    runs[key].append(time.monotonic())
    raise RuntimeError("a task's own bug")


# The shared wait (tests/serve.py), at this module's pace: 15 s unless told, asked every 20 ms.
wait_until = functools.partial(serve_wait_until, timeout=15.0, interval=0.02)


@pytest.fixture
def start_worker(settings) -> Iterator[Callable[..., InProcessWorker]]:
    """Tasks sent as the embedded mode sends them: to this process's in-process worker."""
    runs.clear()
    settings.SCRM_IN_PROCESS_WORKER = True
    celery_app.conf.task_always_eager = False

    def start(threads: int = 2) -> InProcessWorker:
        return worker_start(celery_app, threads=threads)

    yield start
    worker_stop(timeout=10)
    celery_app.conf.task_always_eager = True


# --- the worker -------------------------------------------------------------------------------
def test_a_retry_with_a_countdown_runs_later_and_holds_up_nobody(start_worker):
    worker = start_worker(threads=1)
    # Given one worker thread, and a task that fails and asks to be retried in 0.5 s
    began = time.monotonic()
    fails_once_then_retries.delay("flaky", 0.5)
    note_the_run.delay("other")
    sent_in = time.monotonic() - began
    # Then sending returned at once, and the other task ran while the retry waited
    assert sent_in < 0.05
    assert worker.wait_idle(timeout=5)
    first, second = runs["flaky"]
    assert runs["other"][0] < second
    # And the retry ran after its countdown, not before
    assert second - first >= 0.5


def test_the_worker_survives_a_task_that_raises(start_worker):
    worker = start_worker(threads=1)
    # Given a task that raises on the only worker thread
    raises.delay("boom")
    note_the_run.delay("after")
    # Then the next task still runs, and the worker is still there for more
    assert worker.wait_idle(timeout=5)
    assert len(runs["boom"]) == 1 and len(runs["after"]) == 1
    note_the_run.delay("later")
    assert worker.wait_idle(timeout=5)
    assert len(runs["later"]) == 1
    assert worker.alive


def test_tasks_get_their_arguments_as_a_broker_would_give_them(start_worker):
    worker = start_worker()
    # Arguments travel as JSON, as through Redis: a tuple arrives as a list
    note_the_run.delay("json", (1, 2), {"a": 1})
    assert worker.wait_idle(timeout=5)
    assert runs["json:args"] == [([1, 2], {"a": 1})]
    # And what Redis could not carry fails in the caller, as it would in services mode
    with pytest.raises(EncodeError):
        note_the_run.delay("json", object())


def test_the_scheduler_sends_periodic_tasks_to_the_worker_as_beat_does(start_worker):
    worker = start_worker()
    scheduler = Scheduler({periodic_sweep.name: 60})
    # When a periodic task is due, the scheduler only sends it
    assert scheduler.tick() == [periodic_sweep.name]
    # Then a worker thread runs it (its events reach sockets as any task's do)
    assert worker.wait_idle(timeout=5)
    assert [name.startswith("scrm-worker") for name in runs["sweep"]] == [True]


def test_stopping_finishes_what_is_due_and_drops_what_waits(start_worker):
    worker = start_worker(threads=1)
    note_the_run.apply_async(("later",), countdown=30)
    note_the_run.delay("now")
    # When the server stops, it does not wait 30 s for the countdown
    began = time.monotonic()
    dropped = worker.stop(timeout=5)
    assert time.monotonic() - began < 5
    # Then the task that was due ran, the one waiting was dropped (a sweep finds its row)
    assert len(runs["now"]) == 1 and runs["later"] == []
    assert dropped == 1
    assert not worker.alive


def test_after_the_server_shut_down_a_late_task_is_dropped_not_run(start_worker):
    worker = start_worker()
    # Given the server's shutdown stopped the background work
    background_stop()
    # When a task is sent after it (a retry from a task that was finishing, say)
    note_the_run.delay("late")
    time.sleep(0.2)
    # Then no new worker starts in the ending process, and the task does not run
    assert not worker.alive
    assert not [t for t in threading.enumerate() if t.name.startswith("scrm-worker")]
    assert runs["late"] == []


def test_callbacks_and_canvas_are_refused_rather_than_ignored(start_worker):
    start_worker()
    with pytest.raises(NotImplementedError):
        note_the_run.apply_async(("a",), link=note_the_run.si("b"))


def test_an_idle_server_loop_hears_a_push_from_a_worker_thread_at_once():
    # The embedded layer's receive waits on the server's event loop; a worker thread pushes.
    layer = InMemoryChannelLayer()
    latencies: list[float] = []

    async def serve() -> None:
        channel = await layer.new_channel()
        await layer.group_add("shop.1", channel)

        def push_from_a_worker() -> None:
            for _ in range(5):
                async_to_sync(layer.group_send)("shop.1", {"type": "x", "at": time.monotonic()})
                time.sleep(0.05)

        threading.Thread(target=push_from_a_worker).start()
        for _ in range(5):
            # No timer on this loop wakes it up: only the push itself can.
            message = await asyncio.wait_for(layer.receive(channel), timeout=5)
            latencies.append(time.monotonic() - message["at"])

    asyncio.run(serve())
    # Channels' own in-memory layer left each event unseen until the loop woke for something
    # else (seconds, measured); handed to the server's loop, it arrives in milliseconds.
    assert max(latencies) < 0.5, latencies


# --- the request path ---------------------------------------------------------------------------
@pytest.fixture
def platform(settings, world, asgi_server):
    p = start_platform(settings)
    url = asgi_server + "/webhooks/tiktok/"
    p.connect_shop(world.shop_a1)
    p.subscribe(world.shop_a1, url)
    yield p
    p.server.stop()
    p.sim.close()


def _conversation(platform, world, start_worker) -> Conversation:
    start_worker()
    conv_id, _ = platform.sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="b1", nickname="Mia", text="Refund?"
    )
    platform.sim.deliver_webhooks()
    stored = Conversation.objects.filter(platform_conversation_id=conv_id)
    assert wait_until(stored.exists)
    return Conversation.objects.get(platform_conversation_id=conv_id)


def _faults_left(sim) -> int:
    with sim.lock:
        return sum(fault.remaining for fault in sim.faults)


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_answered_before_it_is_processed(world, platform, start_worker):
    start_worker()
    sim = platform.sim
    # Given the platform answers the message reads slowly (the processing reads them)
    conv_id, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="b2", nickname="Noa", text="Where is it?"
    )
    sim.set_fault(f"/customer_service/202309/conversations/{conv_id}/messages", "delay", delay=2)
    # When the platform delivers the webhook
    began = time.monotonic()
    sim.deliver_webhooks()
    answered_in = time.monotonic() - began
    # Then it is answered at once, before the message is read and stored
    assert answered_in < 1.0, answered_in
    assert not Message.objects.filter(conversation__platform_conversation_id=conv_id).exists()
    # And the message appears shortly after, processed by the worker
    assert wait_until(
        lambda: any(
            m.text == "Where is it?"
            for m in Message.objects.filter(conversation__platform_conversation_id=conv_id)
        )
    )


@pytest.mark.django_db(transaction=True)
def test_a_reply_to_a_failing_platform_answers_at_once_and_is_sent_once_it_recovers(
    world, platform, start_worker, api
):
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    conversation = _conversation(platform, world, start_worker)
    # Given the platform answers every send in this conversation with a 503
    sim.set_fault(
        SEND_MESSAGE_PATH.format(conversation_id=conversation.platform_conversation_id),
        "5xx",
        count=1000,
    )
    # When the agent sends a reply
    agent = api.as_user(world.agent_a1)
    began = time.monotonic()
    response = agent.post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": "It ships tomorrow.", "idempotency_key": "worker-1"},
        format="json",
    )
    took = time.monotonic() - began
    # Then the request answers at once (eagerly it waited through the retries, ~25 s)
    assert response.status_code == 201, response.content
    assert took < 1.0, took
    assert response.json()["delivery_state"] in {"pending", "sending"}
    # And the worker tries, meets the failures, and schedules its retry
    assert wait_until(lambda: _faults_left(sim) < 1000)
    assert sim.sent_messages(shop_id) == []
    # When the platform recovers, the retry delivers it, once, and the agent sees it sent
    sim.clear_faults()
    reply_id = response.json()["id"]
    assert wait_until(lambda: Message.objects.get(id=reply_id).delivery_state == "sent", timeout=30)
    listed = agent.get(f"/api/v1/conversations/{conversation.id}/messages/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [m["delivery_state"] for m in rows if m["id"] == reply_id] == ["sent"]
    assert len(sim.sent_messages(shop_id)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_reply_task_starts_only_after_its_transaction_commits(world, platform, start_worker):
    from inbox.services.replies import message_send

    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    conversation = _conversation(platform, world, start_worker)
    # Given a reply stored in a transaction that is still open
    with transaction.atomic():
        reply, _ = message_send(
            actor=world.agent_a1, conversation_id=conversation.id, text="On its way"
        )
        time.sleep(0.5)
        # Then the worker has not sent it (it could not yet see the row)
        assert sim.sent_messages(shop_id) == []
    # And once committed, the worker delivers it
    assert wait_until(lambda: Message.objects.get(id=reply.id).delivery_state == "sent")
    assert len(sim.sent_messages(shop_id)) == 1


@pytest.mark.django_db(transaction=True)
def test_agents_keep_writing_while_the_worker_writes(world, platform, start_worker, api):
    """SQLite (embedded): the worker's threads and the requests take turns at the one write
    lock; no request meets 'database is locked'."""
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    conversation = _conversation(platform, world, start_worker)
    agent = api.as_user(world.agent_a1)
    # When an agent sends 20 replies as fast as the server answers, while the worker delivers
    # each one and buyers keep writing (webhooks processed by the worker too)
    statuses = []
    for n in range(20):
        sim.buyer_message(shop_id, buyer_user_id=f"busy{n % 4}", nickname="B", text=f"hi {n}")
        sim.deliver_webhooks()
        r = agent.post(
            f"/api/v1/conversations/{conversation.id}/messages/",
            {"text": f"Reply {n}", "idempotency_key": f"busy-{n}"},
            format="json",
        )
        statuses.append(r.status_code)
    # Then every request succeeded, and every reply ends sent, once
    assert statuses == [201] * 20
    assert wait_until(
        lambda: not Message.objects.filter(direction="out").exclude(delivery_state="sent").exists(),
        timeout=60,
    )
    assert len(sim.sent_messages(shop_id)) == 20


@pytest.mark.django_db(transaction=True)
async def test_the_agents_socket_sees_the_reply_sent_by_the_worker(world, platform, start_worker):
    from tests.inbox.ws_client import connect, hello

    # Off Django's one sync thread: the server's webhook ingress needs it meanwhile.
    conversation = await sync_to_async(_conversation, thread_sensitive=False)(
        platform, world, start_worker
    )
    communicator, connected = await connect(world.agent_a1)
    assert connected
    await hello(communicator)
    from inbox.services.replies import message_send

    # When the agent's reply is delivered by a worker thread
    reply, _ = await sync_to_async(message_send)(
        actor=world.agent_a1, conversation_id=conversation.id, text="Sent from the worker"
    )
    # Then the socket hears that it was sent (pushed from the worker's thread)
    deadline = asyncio.get_running_loop().time() + 15
    states = []
    while "sent" not in states and asyncio.get_running_loop().time() < deadline:
        event = await communicator.receive_json_from(timeout=15)
        data = event.get("data") or {}
        if event.get("type") == "message.updated" and data.get("id") == reply.id:
            states.append(data["delivery_state"])
    await communicator.disconnect()
    assert "sent" in states, states


# --- the server ---------------------------------------------------------------------------------
@pytest.mark.skipif(django_settings.SERVICES_MODE, reason="the in-process worker is embedded-only")
@pytest.mark.django_db(transaction=True)
def test_serve_runs_the_worker_and_stops_it_cleanly(world, settings):
    from inbox.services.tokens import token_create

    platform = start_platform(settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    platform.connect_shop(world.shop_a1)
    platform.subscribe(world.shop_a1, base + "/webhooks/tiktok/")
    _, key = token_create(user=world.agent_a1, name="worker test")
    env = {k: v for k, v in os.environ.items() if k != "SCRM_TASKS_EAGER"}
    env.update(
        SCRM_SQLITE_PATH=connection.settings_dict["NAME"],
        TIKTOK_API_BASE=platform.server.base_url,
        TIKTOK_AUTH_BASE=platform.server.base_url,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        SCRM_SIMULATOR="0",
        SCRM_LOG_LEVEL="INFO",
    )
    server, log = serve_process(port, env, "scrm-worker-")
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    agent = httpx.Client(base_url=base, headers={"Authorization": f"Token {key}"}, timeout=30)
    try:
        assert wait_until(_answers(base), timeout=30), log.read_text()
        # Given a buyer's message, answered by the server and processed by its worker
        conv_id, _ = sim.buyer_message(shop_id, buyer_user_id="s1", nickname="Sol", text="Hi")
        sim.deliver_webhooks()
        assert wait_until(Conversation.objects.filter(platform_conversation_id=conv_id).exists)
        conversation = Conversation.objects.get(platform_conversation_id=conv_id)
        messages = f"/api/v1/conversations/{conversation.id}/messages/"
        assert agent.get(messages).status_code == 200  # the server's first request warms it up
        # When the agent replies while the platform fails
        sim.set_fault(SEND_MESSAGE_PATH.format(conversation_id=conv_id), "5xx", count=1000)
        began = time.monotonic()
        response = agent.post(messages, json={"text": "Soon", "idempotency_key": "serve-1"})
        took = time.monotonic() - began
        # Then the server answers at once
        assert response.status_code == 201, response.text
        assert took < 1.0, took
        # And once the platform recovers, the server's worker sends it
        assert wait_until(lambda: _faults_left(sim) < 1000)
        sim.clear_faults()
        assert wait_until(
            lambda: Message.objects.get(id=response.json()["id"]).delivery_state == "sent",
            timeout=30,
        )
    finally:
        # When the server is stopped, the worker stops with it, cleanly
        agent.close()
        server.terminate()
        code = server.wait(timeout=30)
        platform.server.stop()
        platform.sim.close()
    output = log.read_text()
    log.unlink(missing_ok=True)
    # Uvicorn ends the process by re-raising the signal once the application has shut down
    assert code in (0, -signal.SIGTERM), output
    assert "in-process worker started" in output
    assert "in-process worker stopped" in output
    assert "Traceback" not in output, output


def _answers(base: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check
