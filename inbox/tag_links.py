"""The database's half of ``ConversationTag``'s copies: triggers that keep each tag link's
``queue_key`` (the conversation's while it is open work, else null) and ``shop_account``
the conversation's, in the same transaction as the change, whichever code made it (a
service's ``save``, a queryset ``update``, a bulk insert of links).

PostgreSQL: a link's copies are computed whenever it is inserted or updated (BEFORE, from
the conversation row, locked ``FOR SHARE`` so a tag added while another transaction changes
the conversation waits for it and copies its result); a conversation whose ``queue_key`` or
status changes updates its links (AFTER). SQLite: the same by AFTER triggers (one writer at a
time: no race to guard).

SQLite checks every trigger of the schema when a migration rebuilds a table (its
``AlterField``: a new table, a copy, a rename), and these name both tables: the rebuild would
fail. So on SQLite the triggers are dropped before each ``migrate`` (``pre_migrate``) and made
again after it (``post_migrate``, inbox/apps.py: ``ensure``), every copy then recomputed for
whatever the migrations changed meanwhile. PostgreSQL keeps triggers through ``ALTER TABLE``:
there ``ensure`` only makes those missing (a deploy takes no lock on the tables), and a trigger
whose body changes needs a migration of its own (``CREATE OR REPLACE FUNCTION``).

Whoever writes links must lock the conversation first (``conversation_tag`` takes it ``FOR
UPDATE``): the link's ``FOR SHARE`` on it would otherwise wait for, and then be waited on by, a
transaction that updates the conversation after making links of its own.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from inbox.selectors.conversations import OPEN_STATUSES

# Every SQL text below is made of constants: no value from outside ever reaches it.
_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATUSES)

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION inbox_tag_link_copy() RETURNS trigger AS $$
BEGIN
    SELECT CASE WHEN c.status IN ({_OPEN}) THEN c.queue_key END, c.shop_account_id
      INTO NEW.queue_key, NEW.shop_account_id
      FROM inbox_conversation c WHERE c.id = NEW.conversation_id FOR SHARE;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS inbox_tag_link_copy ON inbox_conversation_tags;
CREATE TRIGGER inbox_tag_link_copy BEFORE INSERT OR UPDATE ON inbox_conversation_tags
    FOR EACH ROW EXECUTE FUNCTION inbox_tag_link_copy();

CREATE OR REPLACE FUNCTION inbox_tag_links_follow() RETURNS trigger AS $$
BEGIN
    UPDATE inbox_conversation_tags
       SET queue_key = CASE WHEN NEW.status IN ({_OPEN}) THEN NEW.queue_key END
     WHERE conversation_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS inbox_tag_links_follow ON inbox_conversation;
CREATE TRIGGER inbox_tag_links_follow AFTER UPDATE OF queue_key, status ON inbox_conversation
    FOR EACH ROW
    WHEN (OLD.queue_key IS DISTINCT FROM NEW.queue_key OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION inbox_tag_links_follow();
"""  # noqa: S608
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS inbox_tag_links_follow ON inbox_conversation;
DROP FUNCTION IF EXISTS inbox_tag_links_follow();
DROP TRIGGER IF EXISTS inbox_tag_link_copy ON inbox_conversation_tags;
DROP FUNCTION IF EXISTS inbox_tag_link_copy();
"""

# What a link's copies are, as the conversation ``c`` has them (SQL of constants only).
_KEY = f"CASE WHEN c.status IN ({_OPEN}) THEN c.queue_key END"
_COPY_KEY = "(SELECT " + _KEY + " FROM inbox_conversation c WHERE c.id = {link}.conversation_id)"  # noqa: S608
_COPY_SHOP = (
    "(SELECT c.shop_account_id FROM inbox_conversation c WHERE c.id = {link}.conversation_id)"
)
_SET = "SET queue_key = " + _COPY_KEY + ", shop_account_id = " + _COPY_SHOP

SQLITE_CREATE = [
    "CREATE TRIGGER IF NOT EXISTS inbox_tag_link_copy"
    " AFTER INSERT ON inbox_conversation_tags FOR EACH ROW"
    " BEGIN UPDATE inbox_conversation_tags " + _SET.format(link="NEW") + " WHERE id = NEW.id; END",
    "CREATE TRIGGER IF NOT EXISTS inbox_tag_link_recopy"
    " AFTER UPDATE ON inbox_conversation_tags FOR EACH ROW"
    " WHEN NEW.queue_key IS NOT " + _COPY_KEY.format(link="NEW") + " OR NEW.shop_account_id"
    " IS NOT "
    + _COPY_SHOP.format(link="NEW")
    + " BEGIN UPDATE inbox_conversation_tags "
    + _SET.format(link="NEW")
    + " WHERE id = NEW.id; END",
    "CREATE TRIGGER IF NOT EXISTS inbox_tag_links_follow"  # noqa: S608
    " AFTER UPDATE OF queue_key, status ON inbox_conversation FOR EACH ROW"
    " WHEN OLD.queue_key IS NOT NEW.queue_key OR OLD.status IS NOT NEW.status"
    " BEGIN UPDATE inbox_conversation_tags"
    f" SET queue_key = CASE WHEN NEW.status IN ({_OPEN}) THEN NEW.queue_key END"
    " WHERE conversation_id = NEW.id; END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS inbox_tag_links_follow",
    "DROP TRIGGER IF EXISTS inbox_tag_link_recopy",
    "DROP TRIGGER IF EXISTS inbox_tag_link_copy",
]

# Every link whose copies differ from its conversation's, set right, writing nothing when
# all agree. SQLite before 3.39 has no IS DISTINCT FROM; its IS NOT is the same test.
RESYNC = (
    "UPDATE inbox_conversation_tags AS l "
    + _SET.format(link="l")
    + " WHERE l.queue_key IS DISTINCT FROM "
    + _COPY_KEY.format(link="l")
    + " OR l.shop_account_id IS DISTINCT FROM "
    + _COPY_SHOP.format(link="l")
)
# The triggers PostgreSQL keeps, and their tables (``ensure`` looks for them).
TRIGGERS = {
    "inbox_tag_link_copy": "inbox_conversation_tags",
    "inbox_tag_links_follow": "inbox_conversation",
}


def triggers_create(connection: Any) -> None:
    """Create (or make again) the triggers on ``connection``'s database."""
    if connection.vendor == "sqlite":
        triggers_drop(connection)  # IF NOT EXISTS would keep an older body
    statements = {"postgresql": [POSTGRESQL_CREATE], "sqlite": SQLITE_CREATE}
    with connection.cursor() as cursor:
        for sql in statements.get(connection.vendor, []):
            cursor.execute(sql)


def triggers_drop(connection: Any) -> None:
    statements = {"postgresql": [POSTGRESQL_DROP], "sqlite": SQLITE_DROP}
    with connection.cursor() as cursor:
        for sql in statements.get(connection.vendor, []):
            cursor.execute(sql)


def resync(connection: Any) -> int:
    """Set right every link whose copies differ from its conversation's; how many were."""
    sql = RESYNC
    if connection.vendor == "sqlite":
        sql = sql.replace("IS DISTINCT FROM", "IS NOT")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.rowcount or 0)


def _has_copies(connection: Any) -> bool:
    """Whether the links carry the copies (inbox 0024 applied, not migrated back)."""
    with connection.cursor() as cursor:
        if "inbox_conversation_tags" not in connection.introspection.table_names(cursor):
            return False
        columns = connection.introspection.get_table_description(cursor, "inbox_conversation_tags")
    return "queue_key" in {c.name for c in columns}


def _present_on_postgresql(connection: Any) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND (t.tgname, c.relname) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))",
            [list(TRIGGERS), list(TRIGGERS.values())],
        )
        return bool(cursor.fetchone()[0] == len(TRIGGERS))


def before_migrate(connection: Any) -> None:
    """SQLite: the triggers out of the way of the migrations' table rebuilds."""
    if connection.vendor == "sqlite":
        triggers_drop(connection)


def ensure(connection: Any) -> None:
    """After each ``migrate``: the triggers present and, where they were made again, every
    copy right; nothing while the links have no copies (migrated back before inbox 0024).
    PostgreSQL's present triggers are left as they are (no lock taken on the tables)."""
    if not _has_copies(connection):
        return
    if connection.vendor == "postgresql" and _present_on_postgresql(connection):
        return
    with transaction.atomic(using=connection.alias):
        triggers_create(connection)
        resync(connection)
