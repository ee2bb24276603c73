"""The process's kept-alive connections (scrm/http_pool.py) against a real local HTTP server:
what goes on the wire is what httpx sent, a connection the server closed is never used for a
call, the pool's bounds, and a proxy from the environment."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from scrm import http
from scrm.http_pool import Pool

TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def test_the_request_on_the_wire_is_the_one_httpx_sent(server):
    base, script = server
    # Given a signed call's query (spaces, '+', '/', commas, non-ASCII) and a JSON body
    params = (("app_key", "k"), ("q", "x y+z/é~*"), ("ids", "1,2"), ("sign", "a=b&c"))
    body = b'{"content": "\xe4\xbd\xa0\xe5\xa5\xbd"}'
    headers = {"Content-Type": "application/json", "x-tts-access-token": "t"}
    # When the pool and httpx make the same call
    with Pool(timeout=TIMEOUT) as pool, httpx.Client() as reference:
        for client in (pool, reference):
            response = client.request(
                "POST", base + "/api/a b", params=params, headers=headers, content=body
            )
            assert response.status_code == 200 and response.json() == {"ok": True}
    # Then the server read the same target, body and the headers that matter from both
    ours, theirs = script.seen
    assert ours.target == theirs.target
    assert ours.body == theirs.body == body
    for name in ("Content-Type", "x-tts-access-token", "Content-Length", "Host"):
        assert ours.headers[name] == theirs.headers[name]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/p", (("a", "x y+z/é~*"), ("n", 5), ("f", 1.5))),
        ("/p?q=a b&é=1", {"a": "2"}),  # the URL's own query, escaped, and merged
        ("/p?a=1", {"a": "2"}),  # a parameter given again replaces the URL's
        ("/p", {"flag": True, "none": None, "ids": [1, 2]}),
        ("/a%zz/ü", None),
    ],
)
def test_every_target_is_the_one_httpx_sends(server, path, params):
    base, script = server
    with Pool(timeout=TIMEOUT) as pool, httpx.Client() as reference:
        pool.request("GET", base + path, params=params)
        reference.request("GET", base + path, params=params)
    ours, theirs = script.seen
    assert ours.target == theirs.target


def test_a_header_answered_in_latin_1_is_read_as_httpx_reads_it(server):
    base, script = server
    script.on("/h", (200, {"X-Name": "café", "accept": "x"}))
    with Pool(timeout=TIMEOUT) as pool, httpx.Client() as reference:
        ours = pool.request("GET", base + "/h", headers={"accept": "application/json"})
        theirs = reference.request("GET", base + "/h", headers={"accept": "application/json"})
    assert ours.status_code == 200 and ours.headers["X-Name"] == theirs.headers["X-Name"]
    # and the caller's header replaced the default whatever its case (one Accept sent)
    sent = script.seen[0].headers.items()
    assert [value for name, value in sent if name.lower() == "accept"] == ["application/json"]


def test_json_is_encoded_as_httpx_encodes_it(server):
    base, script = server
    data = {"text": "你好", "n": [1, 2]}
    with Pool(timeout=TIMEOUT) as pool, httpx.Client() as reference:
        pool.request("POST", base + "/j", json=data)
        reference.request("POST", base + "/j", json=data)
    ours, theirs = script.seen
    assert ours.body == theirs.body
    assert ours.headers["Content-Type"] == "application/json"


def test_a_connection_the_server_closed_is_not_used_for_the_next_call(server):
    base, script = server
    # Given a server that closes each connection after its answer without saying so (as one
    # whose keep-alive timeout passed does)
    script.close_silently = True
    with Pool(timeout=TIMEOUT) as pool:
        assert pool.request("POST", base + "/send").status_code == 200
        time.sleep(0.2)
        # When the next call is a send, which must never be repeated blindly
        response = pool.request("POST", base + "/send")
    # Then it went out once, on a new connection, and was answered: no "may have acted" error
    assert response.status_code == 200
    assert script.calls("/send") == 2
    assert script.seen[0].port != script.seen[1].port


def test_a_connection_idle_past_the_keepalive_expiry_is_not_reused(server):
    base, script = server
    with Pool(timeout=TIMEOUT, keepalive_expiry=0.3) as pool:
        pool.request("GET", base + "/a")
        pool.request("GET", base + "/a")  # at once: the same connection
        time.sleep(0.4)
        pool.request("GET", base + "/a")  # idle too long: a new one
    ports = [seen.port for seen in script.seen]
    assert ports[0] == ports[1] != ports[2]


def test_idle_connections_to_other_servers_do_not_stop_keep_alive(server):
    base, script = server
    port = base.rsplit(":", 1)[1]
    other_origin = f"http://localhost:{port}"  # the same server under another origin
    with Pool(timeout=TIMEOUT, max_keepalive=1, keepalive_expiry=0.3) as pool:
        # Given the pool's one idle place taken by a connection to another origin
        pool.request("GET", other_origin + "/elsewhere")
        # When this origin is called three times, at once and after the other's expiry
        pool.request("GET", base + "/here")
        pool.request("GET", base + "/here")
        time.sleep(0.35)
        pool.request("GET", other_origin + "/elsewhere")
        pool.request("GET", other_origin + "/elsewhere")
    # Then each origin's calls in a row shared a connection: the older idle one gave way
    here = [seen.port for seen in script.seen if seen.path == "/here"]
    elsewhere = [seen.port for seen in script.seen if seen.path == "/elsewhere"]
    assert here[0] == here[1]
    assert elsewhere[1] == elsewhere[2] != elsewhere[0]


def test_a_call_beyond_the_pools_bound_waits_then_is_not_sent(server):
    base, script = server
    script.on("/slow", (200, 1.0))
    short_wait = httpx.Timeout(5.0, pool=0.2)
    pool = Pool(timeout=short_wait, max_connections=1)
    # Given the pool's one connection busy with a slow call
    busy = threading.Thread(target=pool.request, args=("GET", base + "/slow"))
    busy.start()
    time.sleep(0.2)
    # When another call asks for a connection
    started = time.monotonic()
    with pytest.raises(http.NotSent) as caught:
        http.send(pool, "POST", base + "/send", timeout=short_wait)
    # Then it waited the pool timeout and was never sent (safe to retry, whatever the method)
    assert 0.15 < time.monotonic() - started < 0.9
    assert "no free connection" in str(caught.value)
    assert script.calls("/send") == 0
    busy.join()
    # And once the slow call is done, the connection serves the next call
    assert http.send(pool, "POST", base + "/send").status_code == 200
    pool.close()


def test_a_refused_connection_is_not_sent_and_a_slow_answer_may_have_acted(server):
    base, script = server
    script.on("/slow", (200, 1.0))
    with Pool(timeout=TIMEOUT) as pool:
        with pytest.raises(http.NotSent):
            http.send(pool, "POST", "http://127.0.0.1:9/refused")
        with pytest.raises(http.NoAnswer) as caught:
            http.send(pool, "POST", base + "/slow", timeout=httpx.Timeout(0.3))
        assert caught.value.may_have_acted
        # the timed-out connection was dropped: the next call has a new one and is answered
        assert http.send(pool, "GET", base + "/after").status_code == 200
    assert script.seen[-1].port != script.seen[0].port


def test_an_origin_behind_a_proxy_from_the_environment_goes_through_it(server, monkeypatch):
    base, script = server
    # Given HTTP_PROXY names our server (a forward proxy reads the absolute URL)
    monkeypatch.setenv("HTTP_PROXY", base)
    monkeypatch.setenv("NO_PROXY", "bypassed.invalid")
    with Pool(timeout=TIMEOUT) as pool:
        # When a call goes to an address the proxy serves
        response = pool.request("GET", "http://platform.example/api/x", params={"a": "1"})
    # Then the proxy was asked for the whole URL
    assert response.status_code == 200
    assert script.seen[-1].target == "http://platform.example/api/x?a=1"
    # And an address NO_PROXY names is called directly (here: it does not resolve)
    with Pool(timeout=TIMEOUT) as pool, pytest.raises(httpx.ConnectError):
        pool.request("GET", "http://bypassed.invalid/api/x")


def test_a_closed_pool_refuses_calls_and_the_process_makes_a_new_one():
    pool = http.pool()
    pool.close()
    with pytest.raises(RuntimeError):
        pool.request("GET", "http://127.0.0.1:9/")
    assert http.pool() is not pool
