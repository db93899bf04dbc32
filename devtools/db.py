"""A private database on the local PostgreSQL, and the names of the tables the harnesses read."""

from collections import namedtuple

import psycopg

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

AuditLog = namedtuple("AuditLog", "model table related_name")
# The order's audit trail: the model, its table and `Order.<related_name>`. Raw SQL and ORM
# lookups of the harnesses and tests read these, so a rename of the model is this one line.
AUDIT_LOG = AuditLog(model="OrderEvent", table="payments_orderevent", related_name="events")


def dsn(db_name, app_name=None):
    """A libpq connection string for `db_name` on the local PostgreSQL."""
    return f"host=127.0.0.1 port=5432 user=postgres dbname={db_name}" + (
        f" application_name={app_name}" if app_name else "")


def create_database(name):
    """CREATE DATABASE `name` on the local PostgreSQL; fails if it exists (never reuses one)."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name):
    """DROP DATABASE `name` (WITH FORCE: sessions of killed processes may linger)."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_orphaned_databases(prefix, alive):
    """Drop the databases named `<prefix><pid>` whose pid `alive(pid)` says is gone.

    A harness that was SIGKILLed never dropped its database; the next run cleans up after it.
    """
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname ~ %s", [f"^{prefix}[0-9]+$"]).fetchall()
        for (name,) in rows:
            if not alive(int(name[len(prefix):])):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
