"""The database's half of ``ConversationTag``'s copies: triggers that keep each tag link's
``queue_key`` (the conversation's while it is open work, else null) and ``shop_account``
the conversation's, in the same transaction as the change, whichever code made it (a
service's ``save``, a queryset ``update``, a bulk insert of links).

PostgreSQL: a link's copies are computed whenever it is inserted or updated (BEFORE, from
the conversation row, locked ``FOR SHARE`` so a tag added while another transaction changes
the conversation waits for it and copies its result); a conversation whose ``queue_key`` or
status changes updates its links (AFTER). SQLite: the same by AFTER triggers (one writer at a
time: no race to guard).

SQLite drops a table's triggers when a migration rebuilds the table (its ``AlterField``), so
``ensure`` runs after every ``migrate`` (``post_migrate``, inbox/apps.py): it re-creates the
triggers and recomputes any copy that differs, which is a no-op when nothing was missed.
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

# Every link whose copies differ from its conversation's, set right: one statement for both
# databases (SQLite has IS DISTINCT FROM since 3.39), writing nothing when all agree.
RESYNC = (
    "UPDATE inbox_conversation_tags AS l "
    + _SET.format(link="l")
    + " WHERE l.queue_key IS DISTINCT FROM "
    + _COPY_KEY.format(link="l")
    + " OR l.shop_account_id IS DISTINCT FROM "
    + _COPY_SHOP.format(link="l")
)


def triggers_create(connection: Any) -> None:
    """Create (or make again) the triggers on ``connection``'s database."""
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
    """Set right every link whose copies differ from its conversation's; how many were.
    (One statement for both databases: SQLite has ``IS DISTINCT FROM`` since 3.39.)"""
    with connection.cursor() as cursor:
        cursor.execute(RESYNC)
        return int(cursor.rowcount or 0)


def ensure(connection: Any) -> None:
    """The triggers present and every copy right (after each ``migrate``); nothing while the
    links have no copies (migrated back before inbox 0024)."""
    with connection.cursor() as cursor:
        if "inbox_conversation_tags" not in connection.introspection.table_names(cursor):
            return
        columns = connection.introspection.get_table_description(cursor, "inbox_conversation_tags")
    if "queue_key" not in {c.name for c in columns}:
        return
    with transaction.atomic(using=connection.alias):
        triggers_create(connection)
        resync(connection)
