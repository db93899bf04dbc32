"""The stream of orders: a plan (plan.py) sent over HTTP at a steady rate while the faults strike."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ACCEPTED_STATUSES = (200, 201, 202)
# Orders of the mix whose point is their nonce (spent, unknown): never moved to a saved card.
NONCE_ONLY_KINDS = ("consumed_nonce", "unknown_nonce")


def send_planned(pool, planned, submit_one, rng):
    """Send one planned order on `pool`: once, or its duplicate copies with one Idempotency-Key,
    all at once or one after another 0.05–1.5 s apart (the gaps drawn from `rng` now, in plan
    order, so a seed gives the same gaps whatever the timing)."""
    if planned.copies == 1:
        pool.submit(submit_one, planned)
    elif planned.concurrent:
        for _ in range(planned.copies):
            pool.submit(submit_one, planned)
    else:
        gaps = [rng.uniform(0.05, 1.5) for _ in range(planned.copies)]

        def spaced():
            for gap in gaps:
                submit_one(planned)
                time.sleep(gap)
        pool.submit(spaced)


class Traffic:
    """The chaos run's orders: each planned order's body, its submissions and their answers."""

    def __init__(self, run):
        self.run = run  # the chaos run: the API, the simulator, the clock, the seeded generator
        self.submitted = 0
        self.accepted = 0
        self.lock = threading.Lock()

    def submit_one(self, planned):
        run = self.run
        t0 = time.monotonic()
        for attempt in range(3):
            try:
                status, headers, data = run.api("POST", "/api/orders/", planned.body,
                                                {"Idempotency-Key": planned.key})
                break
            except OSError as exc:
                status, data = None, repr(exc)
                time.sleep(0.5)
        order_id = data.get("id") if isinstance(data, dict) else None
        with self.lock:
            planned.responses.append({"status": status, "order_id": order_id, "t": time.monotonic() - run.started,
                                      "latency": time.monotonic() - t0,
                                      "body": None if status in ACCEPTED_STATUSES else str(data)[:300]})
            self.submitted += 1
            if status in ACCEPTED_STATUSES:
                self.accepted += 1

    def save_cards(self, plan, share, count, timeout=60):
        """The saved-card lane: `count` cards saved through the API before the traffic (a customer,
        its payment methods, stored by the workers), and a seeded `share` of the plan's card orders
        charged on them instead of a fresh nonce. A token is reusable: any resale on one is a real
        second charge in the ledger, which the invariants would catch."""
        run = self.run
        if share <= 0 or count <= 0:
            return []
        _, _, customer = run.api("POST", "/api/customers/", {"reference": "chaos"})
        path = f"/api/customers/{customer['id']}/payment-methods/"
        ids = [run.api("POST", path, {"payment_method_nonce": run.procs["sim"].mint_nonce()})[2]["id"]
               for _ in range(count)]
        deadline = time.monotonic() + timeout
        while True:
            statuses = [run.api("GET", f"{path}{i}/")[2].get("status") for i in ids]
            if all(status == "active" for status in statuses):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"saved cards not active after {timeout}s: {statuses}")
            time.sleep(0.3)
        rng = random.Random(run.args.seed * 17)
        for p in plan:
            if p.kind not in NONCE_ONLY_KINDS and rng.random() < share:
                p.saved = ids[p.index % count]
        run.log(f"saved-card lane: {count} cards, {sum(1 for p in plan if p.saved)} orders on them")
        return ids

    def _nonce_of(self, p):
        """The planned nonce, or a fresh single-use one minted now ("mint")."""
        if p.nonce != "mint":
            return p.nonce
        try:
            return self.run.procs["sim"].mint_nonce()
        except Exception as exc:
            self.run.warn(f"mint nonce failed ({exc!r}); using fake-valid-nonce")
            return "fake-valid-nonce"

    def submit_all(self, plan):
        """Send `plan` evenly over --seconds; stops early when the deadline is near."""
        run = self.run
        run.phase = "submit"
        rate_interval = run.args.seconds / max(1, len(plan))
        t_start = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for p in plan:
                at = t_start + p.index * rate_interval
                while time.monotonic() < at:
                    if run.remaining() < 30:
                        run.warn("deadline near: stopped submitting")
                        return
                    time.sleep(min(0.05, at - time.monotonic()))
                if p.saved:
                    p.body = {"amount": p.amount, "payment_method": p.saved, "currency": "USD",
                              "description": f"chaos #{p.index} {p.kind} (saved card)"}
                else:
                    p.body = {"amount": p.amount, "payment_method_nonce": self._nonce_of(p), "currency": "USD",
                              "description": f"chaos #{p.index} {p.kind}"}
                if getattr(p, "manual", False):
                    p.body["capture"] = "manual"  # the manual-capture lane (manual_capture.py)
                send_planned(pool, p, self.submit_one, run.rng)
