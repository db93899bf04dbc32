"""Idempotency keys shared by order and refund intake: telling a running request from a finished one."""

import hashlib

from django.db import connection


def try_lock_idempotency_key(owner_id, key):
    """Take a transaction-scoped advisory lock on (owner, key); False if another request holds it.

    This is what tells "the first request with this key is still running" (409) apart from a
    replay of a finished one. SQLite (the `make run` default) has no advisory locks and serialises
    writers anyway, so there the unique constraint alone decides.
    """
    if connection.vendor != "postgresql":
        return True
    digest = hashlib.blake2b(f"{owner_id}:{key}".encode(), digest_size=8).digest()
    lock_id = int.from_bytes(digest, "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return cursor.fetchone()[0]
