"""Data migration steps for issue 16 (row-bound encryption), used by the apps' migrations.

Raw SQL in batches, so they neither depend on today's models nor load a million instances:

- ``unique_row_uids``: ``AddField`` gives every existing row the same default ``row_uid``;
  this gives each its own;
- ``seal_plaintext``: columns that held plaintext before (message text and content, previews,
  notes) are encrypted in place, bound to their row;
- values that were already encrypted (``v1``, bound to the column only) keep decrypting and are
  rewritten bound to their row by ``manage.py rotate_keys``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from scrm.crypto import key_ring

BATCH = 2000


def _uid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def unique_row_uids(schema_editor: Any, table: str) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'UPDATE "{table}" SET row_uid = gen_random_uuid()')  # noqa: S608
            return
        cursor.execute(f'SELECT id FROM "{table}"')  # noqa: S608
        ids = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(ids), BATCH):
            cursor.executemany(
                f'UPDATE "{table}" SET row_uid = %s WHERE id = %s',  # noqa: S608
                [(uuid.uuid4().hex, pk) for pk in ids[start : start + BATCH]],
            )


def seal_plaintext(schema_editor: Any, table: str, label: str, columns: dict[str, str]) -> None:
    """Encrypt ``columns`` ({column: "text" | "json"}) of every row of ``table`` in place."""
    ring = key_ring()
    connection = schema_editor.connection
    names = list(columns)
    select = ", ".join(f'"{c}"' for c in names)
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f'SELECT id, row_uid, {select} FROM "{table}" WHERE id > %s '  # noqa: S608
                f"ORDER BY id LIMIT {BATCH}",
                [last],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            updates = []
            for pk, row_uid, *values in rows:
                sealed = []
                for name, value in zip(names, values, strict=True):
                    if columns[name] == "json" and not isinstance(value, str):
                        value = json.dumps(value if value is not None else {}, sort_keys=True)
                    if value in (None, "") or str(value).startswith(("v1:", "v2:")):
                        sealed.append(value or "")
                        continue
                    aad = f"{label}.{name}\x00{_uid(row_uid).hex}".encode()
                    sealed.append(ring.encrypt(str(value), aad))
                updates.append((*sealed, pk))
            assignments = ", ".join(f'"{c}" = %s' for c in names)
            cursor.executemany(
                f'UPDATE "{table}" SET {assignments} WHERE id = %s',  # noqa: S608
                updates,
            )
            last = rows[-1][0]


def reindex_customer_names(schema_editor: Any) -> None:
    """Key every organisation's indexes from its own key (before issue 16 one key served every
    organisation, so a dump linked a buyer across tenants): name indexes recomputed."""
    from scrm.blind import OrgIndex, current_kid

    kid = current_kid()
    ring = key_ring()
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inbox_organisation SET index_key_id = %s", [kid])
        cursor.execute("SELECT id FROM inbox_organisation")
        for (org_id,) in cursor.fetchall():
            index = OrgIndex(organisation_id=org_id, write_kid=kid, read_kids=(kid,))
            cursor.execute(
                "SELECT id, row_uid, display_name FROM inbox_customer WHERE organisation_id = %s",
                [org_id],
            )
            updates = []
            for pk, row_uid, name in cursor.fetchall():
                if not name:
                    continue
                aad = f"inbox.customer.display_name\x00{_uid(row_uid).hex}".encode()
                plain = ring.decrypt(name, aad, aad_v1=b"inbox.customer.display_name")
                updates.append((index.exact(plain, purpose="customer.name"), pk))
            cursor.executemany("UPDATE inbox_customer SET name_index = %s WHERE id = %s", updates)
