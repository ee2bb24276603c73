"""Key rotation throughput: ``rotate_keys`` re-encrypting messages on PostgreSQL, in values a
second.

    .venv/bin/python -m bench.rotation [--messages 200000] [--batches 1000,5000]

A throw-away database (``scrm_bench_rotation``): ``--messages`` buyer messages (text and
content, two encrypted values each: 150-200 characters) written under the key ``bench``
(rows made with ``generate_series``, ciphertexts computed here with the real field code and
loaded with COPY). Then ``bench2`` goes first in the ring and ``rotate_encryption`` runs on
``inbox_message`` once per batch size, from the same starting point each time (the old
ciphertexts are put back between runs). ``rotate_keys --check`` is timed on the result.

Baseline in the same process: the cryptography alone (decrypt under the old key, encrypt under
the new, per value, no database), so the ratio says what the database round trips cost.
"""

from __future__ import annotations

import argparse
import io
import time

from bench import _common as c

DB = "scrm_bench_rotation"
NEW_KEY = "bench2:" + "YmVuY2gta2V5LXR3by1ub3QtZm9yLXByb2R1Y3Rpb24="
TEXT = (
    "Hi, the parcel arrived crushed and the blender inside is broken, "
    "could you send a replacement or refund me please? 包裹坏了，请尽快处理 "
)


def _seed(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from inbox.models import Conversation, Message, Organisation, ShopAccount
    from inbox.platforms.base import Participant
    from inbox.services.ingestion import customer_upsert

    org = Organisation.objects.create(name="Bench", slug="bench")
    shop = ShopAccount.objects.create(
        organisation=org,
        platform="tiktok_shop",
        platform_shop_id="7500001",
        name="Shop",
        region="US",
        credentials={"app_key": "k", "app_secret": "s"},
    )
    customer = customer_upsert(
        organisation_id=org.id,
        platform="tiktok_shop",
        buyer=Participant(role="BUYER", im_user_id="im1", user_id="u1", nickname="Buyer"),
    )
    conv = Conversation.objects.create(
        organisation=org, shop_account=shop, customer=customer, platform_conversation_id="c1"
    )
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO inbox_message (
                row_uid, conversation_id, shop_account_id, platform_message_id, direction,
                sender_role, type, text, content, is_visible, sent_at, platform_index,
                delivery_state, failure_reason, author_id, idempotency_key, synced,
                created_at, updated_at)
            SELECT gen_random_uuid(), %s, %s, 'm' || g, 'in', 'BUYER', 'TEXT', '', '', true,
                   %s, '', 'received', '', NULL, '', true, %s, %s
            FROM generate_series(1, %s) AS g
            """,
            [conv.id, shop.id, timezone.now(), timezone.now(), timezone.now(), n],
        )
        cur.execute("SELECT id, row_uid FROM inbox_message ORDER BY id")
        rows = cur.fetchall()
    text_f = Message._meta.get_field("text")
    content_f = Message._meta.get_field("content")
    buf = io.StringIO()
    for pk, uid in rows:
        text = f"{TEXT} #{pk}"
        t = text_f.seal(text, uid).token
        j = content_f.seal({"content": text}, uid).token
        buf.write(f"{pk}\t{t}\t{j}\n")
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE bench_old (id bigint primary key, text text, content text)")
        with cur.cursor.copy("COPY bench_old (id, text, content) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        _restore(cur)
        cur.execute("VACUUM ANALYZE inbox_message")


def _restore(cur) -> None:
    cur.execute(
        "UPDATE inbox_message m SET text = o.text, content = o.content FROM bench_old o "
        "WHERE m.id = o.id"
    )
    cur.execute("DELETE FROM inbox_keyrotation")


def _crypto_only(n: int) -> float:
    """Values a second for decrypt-under-old + encrypt-under-new alone (no database)."""
    import uuid

    from scrm.crypto import KeyRing

    old = KeyRing.parse(c.ENCRYPTION_KEYS)
    new = KeyRing.parse(f"{NEW_KEY},{c.ENCRYPTION_KEYS}")
    aad = b"inbox.message.text\x00" + uuid.uuid4().hex.encode()
    tokens = [old.encrypt(f"{TEXT} #{i}", aad) for i in range(n)]
    t0 = time.perf_counter()
    for token in tokens:
        new.encrypt(new.decrypt(token, aad), aad)
    return n / (time.perf_counter() - t0)


def _index_rotation(n: int, *, profile: bool = False) -> None:
    """``rotate_indexes`` to a new index master: each message decrypted, its words keyed and
    its tokens rewritten (the wait for other processes' caches left out of the rate)."""
    from django.conf import settings

    from inbox.models import MessageToken
    from inbox.services.key_rotation import rotate_indexes

    settings.SCRM_BLIND_INDEX_KEYS = "bix:" + "YmVuY2gtYmxpbmQtaW5kZXgta2V5LW5vdC1wcm9kISE="
    t0 = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            rotate_indexes(batch=1000, settle_seconds=0)
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)
    else:
        rotate_indexes(batch=1000, settle_seconds=0)
    seconds = time.perf_counter() - t0
    tokens = MessageToken.objects.count()
    c.table(
        f"rotate_keys --index over {n:,} messages (and 1 customer)",
        ["messages/s", "tokens written", "tokens/s", "seconds"],
        [[n / seconds, tokens, tokens / seconds, seconds]],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--batches", default="1000,5000")
    parser.add_argument("--profile", action="store_true", help="cProfile the first run")
    parser.add_argument("--index", action="store_true", help="also time rotate_keys --index")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    c.database_create(DB)
    c.setup_django(DB)
    try:
        from django.conf import settings
        from django.db import connection

        from inbox.services.key_rotation import key_check, rotate_encryption
        from scrm.crypto import key_ring

        c.migrate()
        t0 = time.perf_counter()
        _seed(args.messages)
        print(f"seeded {args.messages:,} messages in {time.perf_counter() - t0:.1f}s", flush=True)
        baseline = _crypto_only(20_000)
        settings.SCRM_ENCRYPTION_KEYS = f"{NEW_KEY},{c.ENCRYPTION_KEYS}"
        ring = key_ring()
        rows = []
        for batch in batches:
            with connection.cursor() as cur:
                _restore(cur)
            t0 = time.perf_counter()
            if args.profile and batch == batches[0]:
                import cProfile
                import pstats

                with cProfile.Profile() as prof:
                    result = rotate_encryption(ring, batch=batch, only="inbox_message")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
            else:
                result = rotate_encryption(ring, batch=batch, only="inbox_message")
            seconds = time.perf_counter() - t0
            values = sum(p.rewritten for p in result)
            rate = values / seconds
            rows.append([f"rotate_keys, batch {batch}", values, seconds, rate, rate / baseline])
        t0 = time.perf_counter()
        check = key_check(ring, only="inbox_message")
        check_s = time.perf_counter() - t0
        assert not check.behind(), check.counts
        rows.append(["cryptography alone (baseline)", 20_000, 20_000 / baseline, baseline, 1.0])
        c.table(
            f"Re-encrypting {args.messages:,} messages (text + content) on PostgreSQL "
            f"({c.machine()})",
            ["run", "values", "seconds", "values/s", "vs crypto alone"],
            rows,
        )
        print(f"\nrotate_keys --check over inbox_message: {check_s:.2f}s", flush=True)
        if args.index:
            _index_rotation(args.messages, profile=args.profile)
    finally:
        c.database_drop(DB)


if __name__ == "__main__":
    main()
