"""The simulator's state: transactions, disputes, minted nonces, idempotency records and the vault.

Reads are served from in-memory dicts; with a state path every write is also written through to
SQLite so a restarted simulator still knows its transactions and consumed nonces. One re-entrant
lock guards both, and callers hold it across read-check-write sequences (nonce consumption,
idempotency claims) so concurrent clients cannot double-spend.
"""

import json
import sqlite3
import threading

_TABLES = ("transactions", "nonces", "idempotency", "disputes", "customers", "payment_methods")
# Rendered answers kept for the most recent transactions; a sale is typically found again soon.
RENDERED_CACHE_SIZE = 4096


class Store:
    """Thread-safe state container with optional SQLite write-through."""

    def __init__(self, path=None):
        self.lock = threading.RLock()
        self._transactions = {}
        self._nonces = {}
        self._idempotency = {}
        self._disputes = {}
        # The vault (braintree_sim/vault.py): customers by id, stored payment methods by token.
        self._customers = {}
        self._payment_methods = {}
        self._rendered = {}
        self._db = None
        if path:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL keeps WAL durable across a process kill; only an OS crash could lose a write.
            self._db.execute("PRAGMA synchronous=NORMAL")
            for table in _TABLES:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} "
                    "(key TEXT PRIMARY KEY, seq INTEGER, doc TEXT NOT NULL)"
                )
            self._load()

    def _load(self):
        for table, target in zip(_TABLES, (self._transactions, self._nonces, self._idempotency,
                                       self._disputes, self._customers, self._payment_methods)):
            for key, doc in self._db.execute(f"SELECT key, doc FROM {table} ORDER BY seq"):
                target[key] = json.loads(doc)

    def _persist(self, table, key, doc, seq):
        if self._db is not None:
            self._db.execute(
                f"INSERT INTO {table} (key, seq, doc) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc",
                (key, seq, json.dumps(doc)),
            )

    def save_transaction(self, transaction):
        """Insert or replace a transaction (a dict with an ``id``)."""
        with self.lock:
            is_new = transaction["id"] not in self._transactions
            self._transactions[transaction["id"]] = transaction
            self._rendered.pop(transaction["id"], None)
            self._persist("transactions", transaction["id"], transaction,
                          len(self._transactions) if is_new else None)

    def transaction(self, transaction_id):
        """Return the transaction dict or None."""
        return self._transactions.get(transaction_id)

    def rendered(self, transaction_id):
        """The XML answer last rendered for this transaction, or None if it changed since."""
        return self._rendered.get(transaction_id)

    def remember_rendered(self, transaction_id, body):
        """Keep ``body`` as the answer for this transaction until its next save."""
        with self.lock:
            # A reset may have removed the transaction while the caller was rendering it.
            if transaction_id in self._transactions:
                self._rendered[transaction_id] = body
                if len(self._rendered) > RENDERED_CACHE_SIZE:
                    del self._rendered[next(iter(self._rendered))]

    def transactions(self):
        """Return all transactions, oldest first."""
        with self.lock:
            return list(self._transactions.values())

    def save_dispute(self, dispute):
        """Insert or replace a dispute (a dict with an ``id``)."""
        with self.lock:
            is_new = dispute["id"] not in self._disputes
            self._disputes[dispute["id"]] = dispute
            self._persist("disputes", dispute["id"], dispute,
                          len(self._disputes) if is_new else None)

    def dispute(self, dispute_id):
        """Return the dispute dict or None."""
        return self._disputes.get(dispute_id)

    def disputes(self):
        """Return all disputes, oldest first."""
        with self.lock:
            return list(self._disputes.values())

    def save_customer(self, customer):
        """Insert or replace a vaulted customer (a dict with an ``id``)."""
        with self.lock:
            self._customers[customer["id"]] = customer
            self._persist("customers", customer["id"], customer, len(self._customers))

    def customer(self, customer_id):
        """Return the customer dict or None."""
        return self._customers.get(customer_id)

    def delete_customer(self, customer_id):
        """Forget a customer (its payment methods are deleted by the caller)."""
        with self.lock:
            self._customers.pop(customer_id, None)
            self._unpersist("customers", customer_id)

    def save_payment_method(self, method):
        """Insert or replace a stored payment method (a dict with a ``token``)."""
        with self.lock:
            self._payment_methods[method["token"]] = method
            self._persist("payment_methods", method["token"], method, len(self._payment_methods))

    def payment_method(self, token):
        """Return the stored payment method dict or None."""
        return self._payment_methods.get(token)

    def payment_methods(self, customer_id):
        """The customer's stored payment methods, oldest first."""
        with self.lock:
            return [m for m in self._payment_methods.values() if m["customer_id"] == customer_id]

    def delete_payment_method(self, token):
        """Forget a stored payment method."""
        with self.lock:
            self._payment_methods.pop(token, None)
            self._unpersist("payment_methods", token)

    def _unpersist(self, table, key):
        if self._db is not None:
            self._db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))

    def save_nonce(self, nonce, record):
        """Insert or replace a minted nonce record."""
        with self.lock:
            self._nonces[nonce] = record
            self._persist("nonces", nonce, record, len(self._nonces))

    def nonce(self, nonce):
        """Return the minted nonce record or None."""
        return self._nonces.get(nonce)

    def idempotency(self, key):
        """Return the idempotency record for ``api_request_key`` or None."""
        return self._idempotency.get(key)

    def save_idempotency(self, key, record, durable=True):
        """Store an idempotency record; in-flight claims are not ``durable``."""
        with self.lock:
            self._idempotency[key] = record
            if durable:
                self._persist("idempotency", key, record, len(self._idempotency))

    def forget_idempotency(self, key):
        """Drop a claim whose request ended without an answer worth replaying."""
        with self.lock:
            self._idempotency.pop(key, None)

    def reset(self):
        """Forget everything, on disk too."""
        with self.lock:
            self._transactions.clear()
            self._nonces.clear()
            self._idempotency.clear()
            self._disputes.clear()
            self._customers.clear()
            self._payment_methods.clear()
            self._rendered.clear()
            if self._db is not None:
                for table in _TABLES:
                    self._db.execute(f"DELETE FROM {table}")

    def close(self):
        """Close the SQLite connection, if any."""
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None
