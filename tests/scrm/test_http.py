"""The project's HTTP client (scrm/http.py) against a real local HTTP server: one pool per
process and a fresh one after a fork, timeouts, and which calls are retried."""

from __future__ import annotations

import os
import socket
import time

import httpx
import pytest

from scrm import http


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


FAST = http.RetryRules(base=0.01, cap=0.05, jitter=0.0)


# --- one pool per process, a fresh one after a fork --------------------------------------
def test_calls_share_one_pooled_connection(server):
    base, script = server
    # When the process makes three calls
    for _ in range(3):
        assert http.request("GET", base + "/ping").status_code == 200
    # Then they reuse one kept-alive connection, and the platform client uses the same pool
    assert len({seen.port for seen in script.seen}) == 1
    from inbox.platforms.base import Credentials
    from inbox.platforms.tiktok_shop.client import TikTokShopClient

    tiktok = TikTokShopClient(Credentials(app_key="k", app_secret="s"), api_base=base)
    assert tiktok._http is http.pool()


def test_a_forked_child_gets_a_fresh_pool_and_leaves_the_parents_alone(server):
    base, script = server
    # Given the parent holds a kept-alive connection
    assert http.request("GET", base + "/parent").status_code == 200
    parent_port = script.seen[-1].port
    parent_pool = http.pool()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        try:
            fresh = http.pool() is not parent_pool
            ok = http.request("GET", base + "/child").status_code == 200
            os.write(write, b"1" if fresh and ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    # When a child forked from it makes a call
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    # Then the child had a pool of its own, on a connection of its own
    assert answer == b"1"
    child_port = next(seen.port for seen in script.seen if seen.path == "/child")
    assert child_port != parent_port
    # And the parent's pooled connection still works, the same one as before
    assert http.request("GET", base + "/parent").status_code == 200
    assert script.seen[-1].port == parent_port
    assert http.pool() is parent_pool


# --- timeouts --------------------------------------------------------------------------------
def test_a_slow_answer_times_out_instead_of_holding_the_worker(server):
    base, script = server
    script.on("/slow", (200, 2.0))
    started = time.monotonic()
    # A POST is not retried after a timeout (it may have acted): one wait, then the error
    with pytest.raises(http.NoAnswer) as caught:
        http.request("POST", base + "/slow", timeout=httpx.Timeout(0.3), rules=FAST)
    assert time.monotonic() - started < 1.5
    assert caught.value.may_have_acted and caught.value.retryable
    assert script.calls("/slow") == 1


def test_the_default_timeouts_come_from_the_settings(settings):
    settings.SCRM_HTTP_TIMEOUT_SECONDS = 7
    settings.SCRM_HTTP_CONNECT_TIMEOUT_SECONDS = 2
    timeout = http.default_timeout()
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (2, 7, 7, 7)


# --- retry rules -----------------------------------------------------------------------------
def test_a_read_is_retried_after_a_server_error(server):
    base, script = server
    script.on("/list", 503, 502, 200)
    sleeps: list[float] = []
    response = http.request("GET", base + "/list", rules=FAST, sleep=sleeps.append)
    assert response.status_code == 200
    assert script.calls("/list") == 3
    assert sleeps == [0.01, 0.02]


def test_an_unsafe_call_is_not_repeated_after_a_server_error(server):
    base, script = server
    script.on("/send", 503, 200)
    sleeps: list[float] = []
    # The server may have acted before failing: the caller's outbox decides, not the client
    with pytest.raises(http.ServerError) as caught:
        http.request("POST", base + "/send", rules=FAST, sleep=sleeps.append)
    assert caught.value.status == 503 and caught.value.retryable
    assert script.calls("/send") == 1
    assert sleeps == []


def test_an_unsafe_call_the_caller_calls_idempotent_is_retried(server):
    base, script = server
    script.on("/read", 500, 200)
    response = http.request("POST", base + "/read", idempotent=True, rules=FAST, sleep=no_sleep)
    assert response.status_code == 200
    assert script.calls("/read") == 2


def test_a_put_the_caller_calls_not_idempotent_is_not_retried(server):
    base, script = server
    script.on("/append", 500, 200)
    with pytest.raises(http.ServerError):
        http.request("PUT", base + "/append", idempotent=False, rules=FAST, sleep=no_sleep)
    assert script.calls("/append") == 1


def test_a_read_is_retried_after_a_timeout(server):
    base, script = server
    script.on("/slow-read", (200, 1.0), 200)
    response = http.request(
        "GET", base + "/slow-read", timeout=httpx.Timeout(0.3), rules=FAST, sleep=no_sleep
    )
    assert response.status_code == 200
    assert script.calls("/slow-read") == 2


def test_429_is_retried_for_any_call_after_its_retry_after(server):
    base, script = server
    script.on("/send", (429, {"Retry-After": "0.2"}), 200)
    sleeps: list[float] = []
    # Refused without acting: even a send is tried again, after the wait the server asked for
    response = http.request("POST", base + "/send", rules=FAST, sleep=sleeps.append)
    assert response.status_code == 200
    assert sleeps == [0.2]
    assert script.calls("/send") == 2


def test_a_retry_after_too_long_to_wait_in_the_call_goes_to_the_caller(server):
    base, script = server
    script.on("/busy", (429, {"Retry-After": "60"}))
    sleeps: list[float] = []
    with pytest.raises(http.Throttled) as caught:
        http.request("GET", base + "/busy", rules=FAST, sleep=sleeps.append)
    assert sleeps == []
    assert caught.value.retry_after == 60  # the caller's task waits that long


def test_retries_are_bounded(server):
    base, script = server
    script.on("/down", 500)
    sleeps: list[float] = []
    with pytest.raises(http.ServerError):
        http.request("GET", base + "/down", rules=FAST, sleep=sleeps.append)
    assert script.calls("/down") == 1 + FAST.max_retries
    assert sleeps == [0.01, 0.02, 0.04]


def test_a_call_that_never_left_is_retried_whatever_its_method():
    url = closed_port() + "/send"
    sleeps: list[float] = []
    # Nothing reached a server: repeating even a send cannot deliver it twice
    with pytest.raises(http.NotSent) as caught:
        http.request("POST", url, rules=FAST, sleep=sleeps.append)
    assert len(sleeps) == FAST.max_retries
    assert not caught.value.may_have_acted and caught.value.retryable
    assert "?" not in str(caught.value)


def test_errors_never_carry_the_query_string(server):
    base, script = server
    script.on("/down", 500)
    with pytest.raises(http.ServerError) as caught:
        http.request("POST", base + "/down?sign=SECRET&access_token=TOKEN", sleep=no_sleep)
    assert "SECRET" not in str(caught.value) and "TOKEN" not in str(caught.value)


# --- outgoing webhooks -----------------------------------------------------------------------
def test_webhook_post_delivers_and_reports_what_the_receiver_said(server):
    base, script = server
    script.on("/hook", 202)
    assert http.webhook_post(base + "/hook", body=b'{"text": "x"}') == 202
    script.on("/gone", 410)
    with pytest.raises(http.Refused) as caught:
        http.webhook_post(base + "/gone", body=b"{}")
    assert not caught.value.retryable and caught.value.status == 410
    script.on("/flaky", 502, 200)
    with pytest.raises(http.ServerError):  # a chat webhook does not de-duplicate: not repeated
        http.webhook_post(base + "/flaky", body=b"{}", sleep=no_sleep)
    assert script.calls("/flaky") == 1


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "example.com/x"])
def test_webhook_post_calls_only_http_addresses(url):
    with pytest.raises(http.Refused):
        http.webhook_post(url, body=b"{}")


def no_sleep(seconds: float) -> None:
    pass
