"""Claim leases kept alive while their holder works, so that a dead holder's claim lapses in seconds.

A claim (an order's or a refund's) carries a short lease, PAYMENTS_CLAIM_LEASE_SECONDS. While the
holder works on it (the gateway calls between the claim and the record), `lease_kept` has one
thread per process extend every lease the process holds, in one UPDATE per model every
PAYMENTS_CLAIM_RENEW_SECONDS. A worker that dies (SIGKILL, OOM, a lost node) stops renewing, and
its claims lapse within one lease: the redelivered message or the reconciler claims the order
again, and the new claim searches the gateway before any new sale. Only the lease tells a dead
holder from a slow one, so the renewal must be cheap and never late: it runs off the holder's
thread, beside the blocking gateway call (docs/decisions/0007-claim-lease-heartbeat.md).

A renewal only extends a lease that is still live, on a row still processing under the same claim:
a holder that released its lease (to let its retry claim at once), recorded its result, or lost
the claim to someone else is never given it back. A holder is renewed for at most
PAYMENTS_CLAIM_HOLD_MAX_SECONDS: a thread stuck past every gateway timeout loses its claim the way
a dead one does.
"""

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

# Both claimable models spell their working status this way (OrderStatus, RefundStatus).
PROCESSING = "processing"


@dataclass(frozen=True)
class _Held:
    model: type
    pk: object
    claims: int
    since: float  # monotonic
    # The status the row keeps while held: `processing` for a charge or refund, `authorized` for a
    # manual order's capture or cancel (its status changes only when the gateway has answered).
    status: str = PROCESSING


class LeaseKeeper:
    """The leases this process holds, and the thread that renews them."""

    def __init__(self):
        self._held = {}
        # Taken by every renewal for its whole UPDATE, and by `release`: once a holder's
        # `release` returns, no renewal of its lease is still on its way to the database.
        self._lock = threading.Lock()
        # Set when the last lease is released, so that the thread closes its connection at once
        # instead of keeping it open until its next pass.
        self._idle = threading.Event()
        self._thread = None
        self._failing = False

    def hold(self, row, status=PROCESSING):
        """Start renewing the lease of `row` (a model instance its holder just claimed); returns a handle."""
        handle = object()
        with self._lock:
            self._held[handle] = _Held(type(row), row.pk, row.claims, time.monotonic(), status)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="payments-lease-keeper", daemon=True)
                self._thread.start()
        return handle

    def release(self, handle):
        """Stop renewing; waits for a renewal in progress to finish."""
        with self._lock:
            self._held.pop(handle, None)
            if not self._held:
                self._idle.set()

    def _run(self):
        while True:
            self._idle.wait(timeout=settings.PAYMENTS_CLAIM_RENEW_SECONDS)
            self._idle.clear()
            try:
                self.renew()
            except Exception:  # noqa: BLE001 - the keeper must outlive any one bad pass
                logger.exception("Lease keeper: renewal pass failed")

    def renew(self):
        """Extend every held, live lease by one lease from now; returns how many rows were extended."""
        with self._lock:
            if not self._held:
                # Nothing held: this thread's connection is not kept open for nothing.
                connection.close()
                return 0
            by_model = {}
            oldest_allowed = time.monotonic() - settings.PAYMENTS_CLAIM_HOLD_MAX_SECONDS
            for held in self._held.values():
                if held.since >= oldest_allowed:
                    by_model.setdefault((held.model, held.status), []).append(held)
            now = timezone.now()
            until = now + timedelta(seconds=settings.PAYMENTS_CLAIM_LEASE_SECONDS)
            renewed = 0
            try:
                # CONN_MAX_AGE and the health check, as around a task: a connection the server
                # killed is replaced instead of failing every pass.
                close_old_connections()
                for (model, status), held in by_model.items():
                    claims = reduce(or_, (Q(pk=h.pk, claims=h.claims) for h in held))
                    renewed += model.objects.filter(claims, status=status, lease_expires_at__gt=now).update(
                        lease_expires_at=until
                    )
            except DatabaseError as exc:
                # The holders find out for themselves at their next query; the leases lapse.
                connection.close()
                if not self._failing:
                    logger.warning("Lease keeper: leases not renewed, database unavailable: %s", exc)
                self._failing = True
                return 0
            if self._failing:
                logger.warning("Lease keeper: renewing again")
            self._failing = False
            return renewed


_keepers = {}


def lease_keeper():
    """This process's keeper (a forked child gets its own: threads do not survive a fork)."""
    pid = os.getpid()
    keeper = _keepers.get(pid)
    if keeper is None:
        # setdefault is atomic: two threads asking at once share one keeper.
        keeper = _keepers.setdefault(pid, LeaseKeeper())
    return keeper


@contextmanager
def lease_kept(row, status=PROCESSING):
    """Renew the lease of `row`, which the caller just claimed in `status`, until the block ends."""
    keeper = lease_keeper()
    handle = keeper.hold(row, status)
    try:
        yield
    finally:
        keeper.release(handle)
