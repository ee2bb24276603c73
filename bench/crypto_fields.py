"""Field encryption: microseconds per value, and the cryptography a 50-row queue page costs.

    .venv/bin/python -m bench.crypto_fields [--loops 20000] [--runs 40] [--no-page]

1. Per value, in this process: ``EncryptedTextField.seal`` / ``open`` (the whole field path:
   the row-bound associated data, AES-256-GCM, base64, the ``v2:<kid>:`` envelope) for a short
   name (12 characters) and a 200-character message; the bare ``AESGCM`` call under it; and,
   as the baseline, Fernet (AES-128-CBC + HMAC, what the usual Django packages use) on the same
   text. Target (issue): <= 5 us per encryption or decryption.
2. The queue page: ``GET /api/v1/conversations/`` (50 rows) for an agent, through Django's test
   ``Client`` on a throw-away PostgreSQL database (``scrm_bench_crypto``) seeded through the
   real ingestion functions (encrypted names, avatars, previews, message text). Every call of
   ``KeyRing.decrypt`` / ``encrypt`` is counted and timed while the page renders. Target
   (issue): <= 2 ms of cryptography per page.
"""

from __future__ import annotations

import argparse
import time
import uuid

from bench import _common as c

DB = "scrm_bench_crypto"
SHORT = "Emily Rosewo"  # 12 characters
LONG = ("Hello, my parcel arrived crushed and the blender inside is broken, 我的包裹坏了. " * 3)[
    :200
]
TARGET_US, TARGET_PAGE_MS = 5.0, 2.0
CONVERSATIONS = 120


def _per_call_us(fn, loops: int) -> float:
    """Best of five runs of ``loops`` calls, in microseconds of this process's CPU a call: on a
    shared machine wall time also counts the time other processes hold the cores."""
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(loops):
            fn()
        best = min(best, (time.process_time() - t0) / loops * 1e6)
    return best


def field_figures(loops: int) -> list[list[object]]:
    import os

    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from inbox.models import Message
    from scrm.fields import Sealed

    field = Message._meta.get_field("text")
    uid = uuid.uuid4()
    fernet = Fernet(Fernet.generate_key())
    aead = AESGCM(os.urandom(32))
    rows = []
    for label, text in (("short name (12 chars)", SHORT), ("message (200 chars)", LONG)):
        sealed = field.seal(text, uid)
        assert isinstance(sealed, Sealed) and field.open(sealed, uid) == text
        enc = _per_call_us(lambda t=text: field.seal(t, uid), loops)
        dec = _per_call_us(lambda s=sealed: field.open(s, uid), loops)
        nonce, data = os.urandom(12), text.encode()
        ct = aead.encrypt(nonce, data, b"aad")
        raw_enc = _per_call_us(lambda d=data, n=nonce: aead.encrypt(n, d, b"aad"), loops)
        raw_dec = _per_call_us(lambda t=ct, n=nonce: aead.decrypt(n, t, b"aad"), loops)
        token = fernet.encrypt(data)
        f_enc = _per_call_us(lambda d=data: fernet.encrypt(d), loops)
        f_dec = _per_call_us(lambda t=token: fernet.decrypt(t), loops)
        rows.append(
            [
                label,
                "field seal / open (shipped)",
                enc,
                dec,
                "yes" if max(enc, dec) <= TARGET_US else "NO",
            ]
        )
        rows.append([label, "bare AESGCM call", raw_enc, raw_dec, ""])
        rows.append([label, "Fernet (baseline)", f_enc, f_dec, f"{f_dec / dec:.1f}x slower"])
    return rows


def _seed() -> object:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from inbox.models import (
        Conversation,
        Member,
        Message,
        Organisation,
        ShopAccount,
        ShopMembership,
    )
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import conversation_refresh, customer_upsert
    from inbox.services.search_tokens import message_tokens_write
    from scrm.blind import org_index_for

    org = Organisation.objects.create(name="Bench", slug="bench")
    shop = ShopAccount.objects.create(
        organisation=org,
        platform="tiktok_shop",
        platform_shop_id="7500001",
        name="Shop",
        region="US",
        credentials={"app_key": "k", "app_secret": "s"},
    )
    agent = get_user_model().objects.create_user("agent", password="x")  # noqa: S106
    Member.objects.create(user=agent, organisation=org, role="agent")
    ShopMembership.objects.create(user=agent, shop_account=shop)
    now = timezone.now()
    for i in range(CONVERSATIONS):
        customer = customer_upsert(
            organisation_id=org.id,
            platform="tiktok_shop",
            buyer=Participant(
                role="BUYER",
                im_user_id=f"im{i}",
                user_id=f"u{i}",
                nickname=f"Buyer {i} Rosewood",
                avatar=f"https://cdn.example/a/{i}.jpg",
            ),
        )
        conversation = Conversation.objects.create(
            organisation=org, shop_account=shop, customer=customer, platform_conversation_id=f"c{i}"
        )
        messages = [
            Message.objects.create(
                conversation=conversation,
                shop_account=shop,
                platform_message_id=f"m{i}-{k}",
                direction="in",
                sender_role="BUYER",
                type="TEXT",
                text=f"{LONG[:150]} #{i}.{k}",
                content={"content": f"{LONG[:150]} #{i}.{k}"},
                sent_at=now - (CONVERSATIONS - i) * timezone.timedelta(minutes=1),
            )
            for k in range(3)
        ]
        message_tokens_write(messages, org_index_for(org.id))
        conversation_refresh(conversation, new_inbound=3)
    return agent


def page_figures(runs: int) -> dict:
    from django.test import Client

    from scrm import crypto

    agent = _seed()
    client = Client()
    client.force_login(agent)
    spent = {"n": 0, "s": 0.0}
    real_decrypt, real_encrypt = crypto.KeyRing.decrypt, crypto.KeyRing.encrypt

    def timed(real):
        def wrapper(self, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return real(self, *args, **kwargs)
            finally:
                spent["s"] += time.perf_counter() - t0
                spent["n"] += 1

        return wrapper

    crypto.KeyRing.decrypt, crypto.KeyRing.encrypt = timed(real_decrypt), timed(real_encrypt)
    page, crypto_ms, calls, rows = [], [], 0, 0
    try:
        for i in range(runs + 5):
            spent.update(n=0, s=0.0)
            t0 = time.perf_counter()
            response = client.get("/api/v1/conversations/")
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"queue answered {response.status_code}")
            if i >= 5:
                page.append(elapsed)
                crypto_ms.append(spent["s"] * 1000)
                calls, rows = spent["n"], len(response.json()["results"])
    finally:
        crypto.KeyRing.decrypt, crypto.KeyRing.encrypt = real_decrypt, real_encrypt
    return {"page": page, "crypto": crypto_ms, "calls": calls, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--no-page", action="store_true", help="skip the queue page (no PostgreSQL)"
    )
    args = parser.parse_args()
    if args.no_page:
        import os
        import sys

        os.environ.setdefault("DJANGO_DEBUG", "1")
        os.environ.setdefault("SCRM_ENCRYPTION_KEYS", c.ENCRYPTION_KEYS)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")
        sys.path.insert(0, str(c.ROOT))
        import django

        django.setup()
    else:
        c.database_create(DB)
        c.setup_django(DB)
    try:
        c.table(
            f"Per value, CPU time, best of 5 x {args.loops:,} calls ({c.machine()})",
            ["value", "path", "encrypt us", "decrypt us", "<= 5 us? / decrypt vs field"],
            field_figures(args.loops),
        )
        if args.no_page:
            return
        c.migrate()
        r = page_figures(args.runs)
        med_page, med_crypto = c.median(r["page"]), c.median(r["crypto"])
        c.table(
            f"GET /api/v1/conversations/ ({r['rows']} rows), {args.runs} runs",
            ["figure", "median", "p95"],
            [
                ["whole request ms", med_page, c.pct(r["page"], 95)],
                ["in KeyRing.decrypt/encrypt ms", med_crypto, c.pct(r["crypto"], 95)],
                ["calls per page", r["calls"], ""],
                ["us per call", med_crypto * 1000 / max(1, r["calls"]), ""],
                ["share of the request", f"{med_crypto / med_page:.1%}", ""],
                ["target <= 2 ms", "met" if med_crypto <= TARGET_PAGE_MS else "NOT met", ""],
            ],
        )
    finally:
        if not args.no_page:
            c.database_drop(DB)


if __name__ == "__main__":
    main()
