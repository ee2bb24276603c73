"""The queue page's first screen in a real browser, with 10,000 conversations.

.venv/bin/python bench/browser_queue.py [--conversations 10000] [--runs 7]

Embedded mode on a throw-away SQLite database: 10,000 open conversations (one buyer message
each) over the agent's two shops, the real ASGI app served by Uvicorn in this process, Chromium
driven by Playwright (Debian's /usr/bin/chromium, or SCRM_CHROMIUM). Each run is a fresh browser
context (no cache) loading /inbox/; figures from the Navigation Timing entry and the page's own
``inbox-ready`` mark (set once the queue is in the DOM and the script has wired it up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/, whose queue.py would shadow the standard library.
sys.path[0] = str(ROOT)

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "scrm.settings",
        "DJANGO_DEBUG": "1",
        "SCRM_DATA_DIR": tempfile.mkdtemp(prefix="scrm-browser-bench-"),
        "SCRM_SIMULATOR": "0",
        "SCRM_RUN_SCHEDULER": "0",
    }
)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)


def seed(n: int):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from inbox.models import Conversation, Customer, Message
    from tests.factories import OrganisationFactory, ShopAccountFactory, make_person

    call_command("migrate", verbosity=0)
    org = OrganisationFactory(slug="bench")
    shops = [
        ShopAccountFactory(organisation=org, name="Sunny Home US"),
        ShopAccountFactory(
            organisation=org, name="Sunny Home UK", region="GB", time_zone="Europe/London"
        ),
    ]
    agent = make_person(org, "agent", shops, username="bench-agent")
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(
            organisation=org,
            platform="tiktok_shop",
            im_user_id=f"im-{i}",
            display_name=f"Buyer {i}",
        )
        for i in range(n)
    )
    conversations = []
    for i, customer in enumerate(customers):
        waited = now - timedelta(minutes=n - i)
        conversations.append(
            Conversation(
                organisation=org,
                shop_account=shops[i % 2],
                customer=customer,
                platform_conversation_id=f"c-{i}",
                last_message_at=waited,
                last_message_preview=f"Question {i}: where is my order?",
                last_buyer_message_at=waited,
                waiting_since=waited,
                queue_key=waited,
                unread_count=1 + i % 3,
            )
        )
    conversations = Conversation.objects.bulk_create(conversations, batch_size=2000)
    Message.objects.bulk_create(
        (
            Message(
                conversation=c,
                shop_account_id=c.shop_account_id,
                platform_message_id=f"m-{c.platform_conversation_id}",
                direction="in",
                sender_role="BUYER",
                text=c.last_message_preview,
                content={"content": c.last_message_preview},
                sent_at=c.last_message_at,
            )
            for c in conversations
        ),
        batch_size=2000,
    )
    return agent


def serve():
    import socket

    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from scrm.asgi import application

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            ASGIStaticFilesHandler(application),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ready = performance.getEntriesByName('inbox-ready')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {html: nav.responseEnd - nav.startTime, server: nav.responseStart - nav.requestStart,
          dcl: nav.domContentLoadedEventEnd - nav.startTime, load: nav.loadEventEnd - nav.startTime,
          fcp: fcp ? fcp.startTime : null, ready: ready ? ready.startTime : null,
          rows: document.querySelectorAll('.qrow').length};
}"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.test import Client
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    agent = seed(args.conversations)
    print(f"seeded {args.conversations} conversations in {time.perf_counter() - started:.1f} s")
    server, base = serve()
    client = Client()
    client.force_login(agent)
    cookie = client.cookies["sessionid"].value
    chromium = os.environ.get("SCRM_CHROMIUM", "/usr/bin/chromium")
    samples = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium if os.path.exists(chromium) else None,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for run in range(args.runs + 1):  # the first run warms the server up, not counted
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
            page = context.new_page()
            page.goto(base + "/inbox/", wait_until="load")
            page.wait_for_function("document.documentElement.dataset.inboxReady === '1'")
            figures = page.evaluate(MEASURE)
            context.close()
            if run:
                samples.append(figures)
        browser.close()
    server.should_exit = True
    assert all(s["rows"] == 50 for s in samples), "the first screen shows 50 rows"

    def median(key: str) -> float:
        return statistics.median(s[key] for s in samples if s[key] is not None)

    print(f"queue page, {args.conversations} conversations, median of {args.runs} cold loads (ms)")
    print("| measure | median ms | max ms |")
    print("| --- | --- | --- |")
    for key, label in (
        ("server", "server: request → first byte"),
        ("html", "HTML received"),
        ("fcp", "first contentful paint"),
        ("dcl", "DOMContentLoaded"),
        ("ready", "queue rendered and wired (inbox-ready mark)"),
        ("load", "load event"),
    ):
        values = [s[key] for s in samples if s[key] is not None]
        print(f"| {label} | {median(key):.0f} | {max(values):.0f} |")


if __name__ == "__main__":
    main()
