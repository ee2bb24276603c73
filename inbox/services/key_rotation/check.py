"""``rotate_keys --check``: under which key each stored value is, and whether an old
encryption key may be removed from the ring."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q

from inbox.models import Organisation
from inbox.services.key_rotation.encryption import SealedTable, sealed_tables
from scrm.blind import masters
from scrm.crypto import PREFIX, KeyRing


@dataclass
class KeyCheck:
    """Values per table and key (``"v2:k2"``, ``"v1:k1"``, ``"other"`` for a non-token)."""

    primary_kid: str
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    # Old encryption keys that still derive an organisation's blind indexes: {kid: orgs}.
    index_uses: dict[str, int] = field(default_factory=dict)
    # Index keys organisations use that are not configured at all: {index kid: orgs}.
    index_missing: dict[str, int] = field(default_factory=dict)

    @property
    def current(self) -> str:
        return f"{PREFIX}:{self.primary_kid}"

    def behind(self) -> dict[str, int]:
        """Values not under the primary key, per table."""
        return {
            table: sum(n for key, n in counter.items() if key != self.current)
            for table, counter in self.counts.items()
            if any(key != self.current for key in counter)
        }

    @property
    def ok(self) -> bool:
        return not self.behind() and not self.index_uses and not self.index_missing


def _kid_counts(table: SealedTable) -> Counter[str]:
    # The key id sits between the first and second colon of "v2:<kid>:<data>".
    pos = "strpos" if connection.vendor == "postgresql" else "instr"
    out: Counter[str] = Counter()
    with connection.cursor() as cursor:
        for column in table.columns:
            c = connection.ops.quote_name(str(column.column))
            cursor.execute(
                f"SELECT CASE WHEN substr({c}, 1, 3) IN ('v1:', 'v2:') "  # noqa: S608
                f"THEN substr({c}, 1, 3) || substr({c}, 4, {pos}(substr({c}, 4), ':') - 1) "
                f"ELSE 'other' END AS k, count(*) FROM {connection.ops.quote_name(table.table)} "
                f"WHERE {c} IS NOT NULL AND {c} <> '' GROUP BY 1"
            )
            for key, n in cursor.fetchall():
                out[key] += n
    return out


def key_check(ring: KeyRing, *, only: str | None = None) -> KeyCheck:
    """Count the stored values under each key id, per table; and the organisations whose
    blind indexes are derived from an old encryption key (``e.<kid>``), which keep that key
    in use until ``rotate_keys --index`` has moved them."""
    check = KeyCheck(primary_kid=ring.primary_kid)
    for table in sealed_tables(only):
        check.counts[table.table] = _kid_counts(table)
    for kid in ring.keys:
        if kid == ring.primary_kid:
            continue
        derived = f"e.{kid}"
        n = Organisation.objects.filter(Q(index_key_id=derived) | Q(index_key_next=derived)).count()
        if n:
            check.index_uses[kid] = n
    configured = masters()
    for column in ("index_key_id", "index_key_next"):
        used = Organisation.objects.exclude(**{column: ""}).values_list(column, flat=True)
        for kid in used:
            if kid not in configured:
                check.index_missing[kid] = check.index_missing.get(kid, 0) + 1
    return check
