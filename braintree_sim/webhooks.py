"""Signed Braintree webhooks, their delivery with retries, and the auto-settlement loop.

The signature scheme is the SDK's (``WebhookNotificationGateway.parse``): the payload is
base64 of the notification XML with a newline every 76 characters, as
``WebhookTesting.sample_notification`` makes it, signed with HMAC-SHA1 keyed by SHA1(private_key).
"""

import base64
import collections
import hashlib
import heapq
import hmac
import itertools
import logging
import threading
import time
import urllib.parse
import urllib.request

from braintree_sim import responses, xmlcodec
from braintree_sim.gateway import now_iso
from braintree_sim.xmlcodec import DateTime

log = logging.getLogger(__name__)

KIND_BY_STATUS = {
    "settled": "transaction_settled",
    "settlement_declined": "transaction_settlement_declined",
}
KIND_BY_DISPUTE_STATUS = {
    "open": "dispute_opened",
    "won": "dispute_won",
    "lost": "dispute_lost",
    "accepted": "dispute_accepted",
}
# Notifications kept for GET /__sim__/webhooks; older ones are forgotten (delivery continues).
KEEP = 5000


def sign(public_key, private_key, payload):
    """The ``bt_signature`` for ``payload`` (bytes) as ``WebhookNotification.parse`` expects."""
    key = hashlib.sha1(private_key.encode("utf-8")).digest()
    digest = hmac.new(key, payload, hashlib.sha1).hexdigest()
    return f"{public_key}|{digest}"


def notification(kind, subject_tag, subject_doc, public_key, private_key, timestamp=None):
    """Return ``{"bt_signature": str, "bt_payload": str}`` for one notification."""
    doc = {
        "timestamp": DateTime(timestamp or now_iso()),
        "kind": kind,
        "subject": {subject_tag: subject_doc},
    }
    payload = base64.encodebytes(xmlcodec.render("notification", doc))
    return {
        "bt_signature": sign(public_key, private_key, payload),
        "bt_payload": payload.decode("ascii"),
    }


def deliver(url, form, timeout=5.0):
    """POST a webhook form; return ``None`` on a 2xx answer, else the reason it failed."""
    body = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    # The simulator talks to a local receiver; an inherited HTTP proxy would only get in the way.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except OSError as exc:  # urllib's HTTPError (non-2xx), URLError and timeouts
        return str(exc) or type(exc).__name__


class Outbox(threading.Thread):
    """Signs every notification, keeps it for inspection and delivers it to ``url``.

    Braintree retries a failed delivery; so does this thread, at most ``attempts`` times per
    notification, waiting ``retry_delay`` and then twice as long before each further retry.
    Without a ``url`` notifications are only kept (status ``not_sent``), so a harness can post
    them itself, duplicated or out of order.
    """

    def __init__(self, url, public_key, private_key, attempts=5, retry_delay=0.5):
        super().__init__(name="braintree-sim-webhooks", daemon=True)
        self.url = url
        self.keys = (public_key, private_key)
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self._records = collections.OrderedDict()
        self._due = []  # heap of (monotonic due time, seq, record id)
        self._seq = itertools.count(1)
        self._changed = threading.Condition()
        self._stopped = False

    def transaction(self, kind, tx, disputes=()):
        """Queue a notification whose subject is a transaction."""
        return self._add(kind, tx["id"], "transaction", responses.transaction_doc(tx, disputes))

    def dispute(self, dispute, tx):
        """Queue the notification for the dispute's current status (opened, won, lost, accepted)."""
        kind = KIND_BY_DISPUTE_STATUS[dispute["status"]]
        return self._add(kind, dispute["id"], "dispute", responses.dispute_doc(dispute, tx))

    def _add(self, kind, subject_id, subject_tag, subject_doc):
        timestamp = now_iso()
        form = notification(kind, subject_tag, subject_doc, *self.keys, timestamp=timestamp)
        return self._queue({"kind": kind, "subject_id": subject_id, "timestamp": timestamp,
                            "duplicate_of": None, **form})

    def redeliver(self, record_id):
        """Queue another delivery of a kept notification, byte for byte, as a new record.

        Braintree delivers at least once; a duplicate tests the receiver's deduplication.
        Returns the new record, or None if ``record_id`` is not kept.
        """
        with self._changed:
            original = self._records.get(record_id)
            if original is None:
                return None
            same = {key: original[key] for key in
                    ("kind", "subject_id", "timestamp", "bt_signature", "bt_payload")}
            return self._queue({**same, "duplicate_of": record_id})

    def _queue(self, fields):
        with self._changed:
            seq = next(self._seq)
            record = {"id": f"wh_{seq}", "status": "pending" if self.url else "not_sent",
                      "attempts": 0, "last_error": None, **fields}
            self._records[record["id"]] = record
            while len(self._records) > KEEP:
                self._records.popitem(last=False)
            if self.url:
                heapq.heappush(self._due, (time.monotonic(), seq, record["id"]))
                self._changed.notify()
        return dict(record)

    def records(self):
        """Copies of the kept notifications, oldest first."""
        with self._changed:
            return [dict(record) for record in self._records.values()]

    def reset(self):
        """Forget every notification and stop retrying them."""
        with self._changed:
            self._records.clear()
            self._due.clear()

    def stop(self):
        """Stop after the delivery in progress, if any."""
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def _next(self):
        """Block until a delivery is due; return its record, or None when stopped."""
        with self._changed:
            while not self._stopped:
                if self._due and self._due[0][0] <= time.monotonic():
                    _, _, record_id = heapq.heappop(self._due)
                    record = self._records.get(record_id)
                    if record is not None and record["status"] == "pending":
                        return record
                    continue
                timeout = self._due[0][0] - time.monotonic() if self._due else None
                self._changed.wait(timeout)
            return None

    def run(self):
        while True:
            record = self._next()
            if record is None:
                return
            form = {"bt_signature": record["bt_signature"], "bt_payload": record["bt_payload"]}
            failure = deliver(self.url, form)
            with self._changed:
                record["attempts"] += 1
                record["last_error"] = failure
                if failure is None:
                    record["status"] = "delivered"
                elif record["attempts"] >= self.attempts:
                    record["status"] = "failed"
                    log.warning("webhook %s %s given up after %d attempts: %s", record["id"],
                                record["kind"], record["attempts"], failure)
                else:
                    delay = self.retry_delay * 2 ** (record["attempts"] - 1)
                    seq = int(record["id"][len("wh_"):])
                    heapq.heappush(self._due, (time.monotonic() + delay, seq, record["id"]))


class AutoSettler(threading.Thread):
    """Settles transactions ``settle_after`` seconds after submission and notifies the outbox."""

    def __init__(self, gateway, settle_after, outbox):
        super().__init__(name="braintree-sim-settler", daemon=True)
        self.gateway = gateway
        self.settle_after = settle_after
        self.outbox = outbox
        self.stopped = threading.Event()
        self.interval = min(max(settle_after / 4, 0.05), 1.0)

    def run(self):
        while not self.stopped.wait(self.interval):
            self.settle_due()

    def settle_due(self):
        """Settle everything that is due now; return the settled transactions."""
        due = self.gateway.due_for_settlement(self.gateway.clock() - self.settle_after)
        settled = [tx for tx in map(self.gateway.settle, due) if tx is not None]
        notify_settled(self.outbox, self.gateway, settled)
        return settled

    def stop(self):
        """Stop the loop at its next tick."""
        self.stopped.set()


def notify_settled(outbox, gateway, transactions):
    """Queue ``transaction_settled`` / ``transaction_settlement_declined`` for each transaction."""
    for tx in transactions:
        kind = KIND_BY_STATUS.get(tx["status"])
        if kind:
            outbox.transaction(kind, tx, gateway.disputes_of(tx))
