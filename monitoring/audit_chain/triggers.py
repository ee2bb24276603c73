"""The database's half of "append-only": triggers on ``monitoring_auditevent``.

PostgreSQL: a row trigger refuses every DELETE, and every UPDATE except the sealer's, which
sets the seal columns of an unsealed row once and changes nothing else (the comparison is of
the whole row as JSON minus those columns, so a column added later is protected too).
TRUNCATE is not a row operation and stays possible for the table's owner (Django's test flush
uses it); give the application's role no TRUNCATE privilege in production, and keep the
checkpoints ``audit_verify`` prints.

SQLite: the same UPDATE rule by its own trigger. DELETE stays allowed there, because Django's
flush (the test suite's teardown) is ``DELETE FROM``; ``audit_verify`` detects a deleted row
in both databases.
"""

from __future__ import annotations

from typing import Any

SEAL_COLUMNS = ("seq", "chain_mac", "seal_key_id", "sealed_at")
# Every column the SQLite trigger holds unchanged (PostgreSQL compares the whole row).
CONTENT_COLUMNS = (
    "id",
    "organisation_id",
    "actor_id",
    "actor_name",
    "shop_account_id",
    "ip_digest",
    "action",
    "target_type",
    "target_id",
    "data",
    "created_at",
    "nonce",
    "key_id",
    "row_mac",
)
MESSAGE = "audit events are append-only"

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION monitoring_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (to_jsonb(NEW) - ARRAY{list(SEAL_COLUMNS)!r}::text[])
           = (to_jsonb(OLD) - ARRAY{list(SEAL_COLUMNS)!r}::text[]) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS monitoring_audit_append_only ON monitoring_auditevent;
CREATE TRIGGER monitoring_audit_append_only BEFORE UPDATE OR DELETE ON monitoring_auditevent
    FOR EACH ROW EXECUTE FUNCTION monitoring_audit_append_only();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS monitoring_audit_append_only ON monitoring_auditevent;
DROP FUNCTION IF EXISTS monitoring_audit_append_only();
"""
_changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in CONTENT_COLUMNS)
SQLITE_CREATE = f"""
CREATE TRIGGER IF NOT EXISTS monitoring_audit_append_only
BEFORE UPDATE ON monitoring_auditevent
WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR {_changed}
BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS monitoring_audit_append_only;"


def triggers_create(schema_editor: Any) -> None:
    """Create (or re-create) the triggers on this connection's database."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, None)


def triggers_drop(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, None)
