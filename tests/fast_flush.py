"""A transactional test's clean-up, made cheap.

After each transactional test Django empties every table (`flush`: on PostgreSQL one
TRUNCATE of all ~90 tables, which takes an exclusive lock and new files for each) and
then re-creates every content type and permission through `post_migrate`: about 0.4 s a
test, minutes over the suite. Here the rows are deleted instead (the foreign keys Django
makes on PostgreSQL are deferred, so the order does not matter within the flush's
transaction), and content types and permissions, which no test changes, are kept, so
there is nothing for `post_migrate` to re-create.
"""

from django.core.management.commands import flush as flush_command
from django.db import connections

KEPT = frozenset({"django_content_type", "auth_permission"})


def install() -> None:
    for connection in connections.all():
        operations = type(connection.ops)
        if getattr(operations, "_fast_flush", False):
            continue
        original = operations.sql_flush

        def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False,
                      _original=original):  # fmt: skip
            tables = [table for table in tables if table not in KEPT]
            if reset_sequences or self.connection.vendor != "postgresql":
                return _original(
                    self, style, tables, reset_sequences=reset_sequences,
                    allow_cascade=allow_cascade,
                )  # fmt: skip
            # Table names come from the models, quoted by the backend.
            return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608

        operations.sql_flush = sql_flush
        operations._fast_flush = True
    # Content types and permissions stayed: nothing for post_migrate to do.
    flush_command.emit_post_migrate_signal = lambda *args, **kwargs: None
