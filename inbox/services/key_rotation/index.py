"""Blind-index rotation: each organisation's indexes moved to the current index master
(``scrm.blind.current_kid()``), with every search finding the same rows throughout.

1. ``index_key_next`` is set: from then on writers index under the new key and searches ask
   under both (``OrgIndex.read_kids``);
2. the run waits longer than ``scrm.blind.CACHE_SECONDS``, so no process still writes under
   the old key from its cache;
3. customers' name indexes and search tokens, then messages' tokens, are recomputed under the
   new key in id order, in batches that commit with their progress (``inbox.KeyRotation`` of
   kind "index"): a crash resumes after the last batch;
4. ``index_key_id`` takes the new key and ``index_key_next`` is cleared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from inbox.models import (
    Customer,
    KeyRotation,
    Message,
    MessageToken,
    Organisation,
    ShopAccount,
)
from inbox.services.search_tokens import (
    MESSAGE_PURPOSE,
    customer_tokens_write,
    message_index_terms,
)
from scrm.blind import CACHE_SECONDS, OrgIndex, current_kid, forget_org_index, org_index

KIND = "index"
DEFAULT_BATCH = 1000


@dataclass
class IndexProgress:
    step: str
    rows: int = 0
    seconds: float = 0.0
    finished: bool = False


def _rotating(target: str) -> dict[int, OrgIndex]:
    """The organisations to move, each with its indexes' keys (write = the new key). An
    organisation whose earlier rotation stopped with another key as ``next`` finishes that one
    first (its rows are under one of those two keys); a second run moves it on."""
    orgs = Organisation.objects.filter(~Q(index_key_id=target) | ~Q(index_key_next=""))
    with transaction.atomic():
        for org in orgs.select_for_update():
            if not org.index_key_next:
                org.index_key_next = target
                org.save(update_fields=["index_key_next"])
    return {o.id: org_index(o) for o in Organisation.objects.exclude(index_key_next="")}


def _unreadable(row: object, attname: str) -> bool:
    """Whether reading ``attname`` of ``row`` failed to decrypt (see scrm.fields)."""
    return bool(row.__dict__.get(f"_unreadable_{attname}"))


def _progress(target: str, step: str) -> KeyRotation:
    state, _ = KeyRotation.objects.get_or_create(kind=KIND, target_kid=target, table=step)
    return state


def _customers_batch(indexes: dict[int, OrgIndex], after: int, size: int) -> tuple[int, int]:
    customers = list(
        Customer.objects.select_for_update()
        .filter(organisation_id__in=list(indexes), id__gt=after)
        .order_by("id")[:size]
    )
    for customer in customers:
        index = indexes[customer.organisation_id]
        name = customer.display_name or ""
        if _unreadable(customer, "display_name"):
            name = ""  # logged by the field; never indexed as its marker
        customer.name_index = index.exact(name, purpose="customer.name") if name else ""
        customer_tokens_write(customer, index)
    Customer.objects.bulk_update(customers, ["name_index"], batch_size=size)
    return (customers[-1].id if customers else 0), len(customers)


def _messages_batch(
    indexes: dict[int, OrgIndex], shops: dict[int, int], after: int, size: int
) -> tuple[int, int]:
    messages = list(
        Message.objects.select_for_update()
        .filter(shop_account_id__in=list(shops), id__gt=after)
        .order_by("id")
        .only("id", "row_uid", "shop_account_id", "text")[:size]
    )
    if not messages:
        return 0, 0
    MessageToken.objects.filter(message_id__in=[m.id for m in messages]).delete()
    rows: list[tuple[int, int, int]] = []
    for message in messages:
        text = message.text or ""
        if not text or _unreadable(message, "text"):
            continue  # an unreadable one is logged by the field, never indexed as its marker
        index = indexes[shops[message.shop_account_id]]
        # The same terms and tokens as message_tokens_write (one definition of both).
        for token in index.tokens(message_index_terms(text), purpose=MESSAGE_PURPOSE):
            rows.append((message.shop_account_id, message.id, token))
    _insert_message_tokens(rows)
    return messages[-1].id, len(messages)


def _insert_message_tokens(rows: list[tuple[int, int, int]]) -> None:
    # Tens of thousands of rows a batch: COPY on PostgreSQL (model instances and bulk_create
    # cost ten times the keying itself), executemany elsewhere.
    if not rows:
        return
    table = MessageToken._meta.db_table
    columns = "shop_account_id, message_id, token"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            data = "".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(data)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s)",  # noqa: S608
                rows,
            )


def _walk(
    target: str,
    step: str,
    batch_fn: Callable[[int, int], tuple[int, int]],
    *,
    batch: int,
    on_batch: Callable[[IndexProgress], None] | None,
) -> IndexProgress:
    progress = IndexProgress(step=step)
    started = time.perf_counter()
    state = _progress(target, step)
    while state.finished_at is None:
        with transaction.atomic():
            state = KeyRotation.objects.select_for_update().get(pk=state.pk)
            last, n = batch_fn(state.last_id, batch)
            if n:
                state.rewritten += n
                progress.rows = state.rewritten
                state.last_id = last
            else:
                state.finished_at = timezone.now()
                progress.finished = True
            state.save(update_fields=["last_id", "rewritten", "finished_at"])
        progress.seconds = time.perf_counter() - started
        if on_batch is not None:
            on_batch(progress)
    progress.finished = True
    return progress


def rotate_indexes(
    *,
    batch: int = DEFAULT_BATCH,
    settle_seconds: float | None = None,
    on_batch: Callable[[IndexProgress], None] | None = None,
) -> list[int]:
    """Move every organisation's blind indexes to the current index master; returns the ids
    of the organisations moved. Resumable; safe beside writers and searches."""
    target = current_kid()
    indexes = _rotating(target)
    if not indexes:
        return []
    time.sleep(CACHE_SECONDS + 0.5 if settle_seconds is None else settle_seconds)
    forget_org_index()
    shops = dict(
        ShopAccount.objects.filter(organisation_id__in=list(indexes)).values_list(
            "id", "organisation_id"
        )
    )
    _walk(
        target,
        "customers",
        lambda after, size: _customers_batch(indexes, after, size),
        batch=batch,
        on_batch=on_batch,
    )
    _walk(
        target,
        "messages",
        lambda after, size: _messages_batch(indexes, shops, after, size),
        batch=batch,
        on_batch=on_batch,
    )
    with transaction.atomic():
        for org in Organisation.objects.select_for_update().filter(id__in=list(indexes)):
            org.index_key_id, org.index_key_next = org.index_key_next, ""
            org.save(update_fields=["index_key_id", "index_key_next"])
        KeyRotation.objects.filter(kind=KIND, target_kid=target).delete()
    forget_org_index()
    return sorted(indexes)
