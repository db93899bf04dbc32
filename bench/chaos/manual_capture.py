"""The manual-capture lane of the chaos run: authorize now, capture (or cancel) later, among the faults.

A seeded share of the plan's fresh-nonce orders is sent with `"capture": "manual"`. While the
traffic and the faults run, the lane watches for those orders to reach `authorized` and asks,
for each, one seeded scenario: a capture of all of it, a partial capture, two captures at once,
one capture sent twice with one Idempotency-Key, a capture racing a cancel, or a cancel. After
the run is quiet it decides whatever is still authorized and waits for every decision to land.
What it sent feeds I10-I12 (devtools/invariants.py): never captured twice, never captured after a
cancel, never more than authorized.
"""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg

from devtools import invariants

SCENARIOS = ("capture", "partial", "twice", "replay", "race", "cancel")
# Fresh-nonce orders only: the point of the others is their nonce (spent, unknown) or their card.
ELIGIBLE_KINDS = ("approved", "duplicate", "declined")


class ManualCaptureLane:
    def __init__(self, chaos, share):
        self.chaos = chaos
        self.share = share
        self.rng = random.Random(chaos.args.seed * 31 + 7)
        self.asked = {}  # order id -> scenario
        self.deck = []
        self.responses = []  # {"order_id", "op", "key", "amount", "status"}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.complete = False
        self.thread = None
        self.pool = None

    def mark(self, plan):
        """Choose the manual orders (seeded, after the saved-card lane took its share)."""
        for p in plan:
            p.manual = self.share > 0 and p.kind in ELIGIBLE_KINDS and not p.saved and self.rng.random() < self.share
        if self.share > 0:
            self.chaos.log(f"manual-capture lane: {sum(1 for p in plan if p.manual)} orders authorize only")

    def start(self):
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.thread = threading.Thread(target=self._watch, name="manual-capture", daemon=True)
        self.thread.start()

    def _authorized_undecided(self):
        try:
            rows = self.chaos.query(
                "SELECT id, authorized_amount FROM payments_order WHERE status = 'authorized' "
                "AND authorization_decision = '' ORDER BY updated_at")
        except psycopg.Error:
            return []  # a database outage fault: look again on the next pass
        return [(str(r[0]), r[1]) for r in rows if str(r[0]) not in self.asked]

    def _watch(self):
        while not self.stop.is_set():
            self._ask_all()
            self.stop.wait(0.5)

    def _ask_all(self):
        for oid, authorized in self._authorized_undecided():
            if not self.deck:
                # Every scenario once per round (a seeded order), so a small run still sees each.
                self.deck = self.rng.sample(SCENARIOS, len(SCENARIOS))
            scenario = self.deck.pop()
            self.asked[oid] = scenario
            self.pool.submit(self._ask, oid, authorized, scenario)

    def _ask(self, oid, authorized, scenario):
        part = str((authorized * Decimal("0.6")).quantize(Decimal("0.01")))
        if scenario == "capture":
            self._post(oid, "capture", {}, f"cap-{oid}")
        elif scenario == "partial":
            self._post(oid, "capture", {"amount": part}, f"cap-{oid}")
        elif scenario == "replay":
            self._post(oid, "capture", {"amount": part}, f"cap-{oid}")
            self._post(oid, "capture", {"amount": part}, f"cap-{oid}")
        elif scenario == "cancel":
            self._post(oid, "cancel", {}, f"cancel-{oid}")
        else:
            # Two requests at once: two captures with their own keys, or a capture and a cancel.
            second = ("capture", {"amount": part}, f"cap2-{oid}") if scenario == "twice" else ("cancel", {}, f"cancel-{oid}")
            threads = [threading.Thread(target=self._post, args=(oid, "capture", {}, f"cap-{oid}")),
                       threading.Thread(target=self._post, args=(oid, *second))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

    def _post(self, oid, op, body, key):
        for _ in range(3):
            try:
                status, _, _ = self.chaos.api("POST", f"/api/orders/{oid}/{op}/", body, {"Idempotency-Key": key})
            except OSError:
                status = None
            # A 503 (database outage) or no answer: the client tries again with the same key.
            if status not in (None, 503):
                break
            time.sleep(0.5)
        with self.lock:
            self.responses.append({"order_id": oid, "op": op, "key": key, "amount": body.get("amount"),
                                   "status": status})

    def finish(self, timeout=60):
        """Decide what is still authorized, then wait until every decision has landed."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.pool is None:
            return
        self._ask_all()
        self.pool.shutdown(wait=True)
        end = time.monotonic() + min(timeout, max(5, self.chaos.remaining() - 60))
        while time.monotonic() < end:
            try:
                pending = self.chaos.query(
                    "SELECT count(*) FROM payments_order WHERE status = 'authorized' AND authorization_decision <> ''")
            except psycopg.Error:
                pending = [(1,)]
            if pending[0][0] == 0:
                self.complete = True
                return
            time.sleep(0.5)
        self.chaos.warn("manual-capture lane: decisions still pending at the end of the wait")

    def checks(self, orders, ledger):
        """I10-I12 over the manual orders, the ledger and the lane's answers, and the lane's figures."""
        manual = {oid: o for oid, o in orders.items() if o.get("capture") == "manual"}
        inv = {
            "I10": invariants.i10_never_captured_twice(ledger, manual, self.responses),
            "I11": invariants.i11_never_captured_after_cancel(ledger, manual),
            "I12": invariants.i12_never_more_than_authorized(ledger, manual),
        }
        figures = {
            "orders": len(manual),
            "by_status": _count(o["status"] for o in manual.values()),
            "scenarios": _count(self.asked.values()),
            "answers": _count(f"{r['op']}:{r['status']}" for r in self.responses),
            "lane_complete": self.complete,
        }
        return inv, figures


def _count(values):
    out = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return dict(sorted(out.items()))


def read_capture_columns(chaos, orders):
    """Add each order's capture mode and amounts (`capture`, `authorized_amount`, `captured_amount`)."""
    for row in chaos.query("SELECT id, capture, authorized_amount, captured_amount FROM payments_order"):
        o = orders.get(str(row[0]))
        if o is not None:
            o.update(capture=row[1], authorized_amount=row[2], captured_amount=row[3])
    return orders
