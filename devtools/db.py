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


def refuse_connections(name):
    """Make database `name` refuse every new connection and end its sessions: a failover, as
    clients see it. Only `name` is touched: never the server, never another database."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    return terminate_sessions(name)


def allow_connections(name):
    """End `refuse_connections`: database `name` accepts connections again."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def terminate_sessions(name, app_name_like=None):
    """pg_terminate_backend every session on database `name` (those whose application_name is
    LIKE `app_name_like`, if given); returns how many were ended."""
    query = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    params = [name]
    if app_name_like is not None:
        query += " AND application_name LIKE %s"
        params.append(app_name_like)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]
