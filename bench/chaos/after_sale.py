"""The after-sale lane of the chaos run: refunds, voids, settlement races and webhook deliveries.

Runs once the orders are quiet, against the same stack. On a seeded choice of paid orders it
sends full refunds of unsettled sales (voids), duplicate refund submissions with one key,
partial refunds racing a settlement, and partial + remainder refunds of settled sales, with a
few refund answers dropped by the simulator. Then it opens disputes on settled sales, decides
some, and posts the simulator's signed notifications itself, each twice and in reverse order
(the chaos simulator has no --webhook-url, so its redeliver route is not used; posting the kept
payloads again byte for byte is the same duplicate). What it read feeds I6–I9 in checks.py.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from devtools.sim import REFUND_REQUESTS
from devtools.stack import http_request

DROPPED_REFUND_ANSWERS = 3


class AfterSaleLane:
    def __init__(self, chaos, size):
        self.chaos = chaos
        self.size = size
        self.responses = []  # {"group", "status", "refund_id"}
        self.dispute_webhooks = []
        self.webhook_answers = []
        self.complete = False

    def sim(self, method, path, body=None):
        return self.chaos.procs["sim"]._control(method, path, body)

    def refund(self, order_id, body, key=None, group=""):
        headers = {"Idempotency-Key": key} if key else {}
        try:
            status, _, data = self.chaos.api("POST", f"/api/orders/{order_id}/refunds/", body, headers)
        except OSError as exc:
            status, data = None, repr(exc)
        rid = data.get("id") if isinstance(data, dict) else None
        self.responses.append({"group": group, "order_id": order_id, "status": status, "refund_id": rid})

    def paid_orders(self):
        rows = self.chaos.query("SELECT id, amount FROM payments_order WHERE status = 'paid' ORDER BY id")
        return [(str(r[0]), r[1]) for r in rows]

    def run(self):
        chaos = self.chaos
        paid = self.paid_orders()
        chaos.rng.shuffle(paid)
        paid = paid[: self.size]
        if len(paid) < 8:
            chaos.warn(f"after-sale lane: only {len(paid)} paid orders")
        quarter = max(1, len(paid) // 4)
        voids, dups, racing, settled = paid[:quarter], paid[quarter:2 * quarter], paid[2 * quarter:3 * quarter], paid[3 * quarter:]
        chaos.log(f"after-sale lane: {len(voids)} voids, {len(dups)} duplicate keys, {len(racing)} racing settlement, "
                  f"{len(settled)} settled")
        self.sim("POST", "faults", {"rules": [{"kind": "drop", "count": DROPPED_REFUND_ANSWERS, **REFUND_REQUESTS}]})
        with ThreadPoolExecutor(max_workers=8) as pool:
            for oid, _ in voids:
                pool.submit(self.refund, oid, {}, group="void")
            for oid, _ in dups:
                for _ in range(3):
                    pool.submit(self.refund, oid, {}, key=f"dup-{oid}", group="duplicate")
            for oid, amount in racing:
                pool.submit(self.refund, oid, {"amount": str((amount / 2).quantize(amount))}, group="racing")
        # The racing refunds are partial: they wait for the settlement that lands now.
        time.sleep(chaos.rng.uniform(0.2, 1.0))
        self.sim("POST", "settle", {})
        with ThreadPoolExecutor(max_workers=8) as pool:
            for oid, amount in racing + settled:
                pool.submit(self.refund, oid, {"amount": str((amount / 3).quantize(amount))}, group="partial")
            for oid, _ in racing + settled:
                pool.submit(self.refund, oid, {}, group="remainder")
        self.disputes(paid)
        self.wait_for_refunds()
        self.sim("POST", "faults", {})

    def disputes(self, paid):
        """Open disputes on a few settled sales, decide some, deliver every notification twice, reversed."""
        rows = self.chaos.query(
            "SELECT transaction_id FROM payments_order WHERE id = ANY(%s::uuid[]) AND transaction_id IS NOT NULL",
            ([oid for oid, _ in paid],),
        )
        ledger = {t["id"]: t for t in self.chaos.procs["sim"].transactions()}
        settled = [r[0] for r in rows if ledger.get(r[0], {}).get("status") in ("settled", "settling")][:6]
        endings = ["win", "lose", "accept", None]
        for i, txn in enumerate(settled):
            try:
                dispute = self.sim("POST", "disputes", {"transaction_id": txn})["dispute"]
            except Exception as exc:  # noqa: BLE001 (a refused dispute is reported, not fatal)
                self.chaos.warn(f"dispute on {txn}: {exc}")
                continue
            if endings[i % len(endings)]:
                self.sim("POST", f"disputes/{dispute['id']}/{endings[i % len(endings)]}", {})
        hooks = [h for h in self.sim("GET", "webhooks")["webhooks"] if h["kind"].startswith("dispute_")]
        listed = self.sim("GET", "disputes")
        listed = listed.get("disputes", []) if isinstance(listed, dict) else listed
        disputed = {d["id"]: d["transaction_id"] for d in listed}
        lock = threading.Lock()

        def post(hook):
            body = urlencode({"bt_signature": hook["bt_signature"], "bt_payload": hook["bt_payload"]})
            try:
                status, _, _ = http_request("POST", self.chaos.procs["web"].url + "/webhooks/braintree/", body.encode(),
                                            {"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
            except OSError:
                status = None
            with lock:
                self.webhook_answers.append(status)

        for hook in hooks:
            self.dispute_webhooks.append({"kind": hook["kind"], "subject_id": hook["subject_id"],
                                          "timestamp": hook["timestamp"],
                                          "transaction_id": disputed.get(hook["subject_id"])})
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(post, list(reversed(hooks)) + hooks))

    def wait_for_refunds(self, timeout=60):
        end = time.monotonic() + min(timeout, max(5, self.chaos.remaining() - 30))
        while time.monotonic() < end:
            rows = self.chaos.query("SELECT count(*) FROM payments_refund WHERE status IN ('pending', 'processing')")
            webhooks = self.chaos.query("SELECT count(*) FROM payments_webhooknotification WHERE state = 'received'")
            if rows[0][0] == 0 and webhooks[0][0] == 0:
                time.sleep(2)  # a stray redelivered task would show up now
                self.complete = True
                return
            time.sleep(0.5)
        self.chaos.warn("after-sale lane: refunds or webhooks still active at the end of the wait")
