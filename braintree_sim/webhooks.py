"""Signed Braintree webhooks and the auto-settlement loop that sends them.

The signature scheme is the SDK's (``WebhookNotificationGateway.parse``): the payload is
base64 of the notification XML, signed with HMAC-SHA1 keyed by SHA1(private_key).
"""

import base64
import hashlib
import hmac
import logging
import threading
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


def sign(public_key, private_key, payload):
    """The ``bt_signature`` for ``payload`` (bytes) as ``WebhookNotification.parse`` expects."""
    key = hashlib.sha1(private_key.encode("utf-8")).digest()
    digest = hmac.new(key, payload, hashlib.sha1).hexdigest()
    return f"{public_key}|{digest}"


def notification(kind, tx, public_key, private_key):
    """Return ``{"bt_signature": str, "bt_payload": str}`` for a transaction webhook."""
    doc = {
        "timestamp": DateTime(now_iso()),
        "kind": kind,
        "subject": {"transaction": responses.transaction_doc(tx)},
    }
    payload = base64.encodebytes(xmlcodec.render("notification", doc))
    return {
        "bt_signature": sign(public_key, private_key, payload),
        "bt_payload": payload.decode("ascii"),
    }


def deliver(url, form, timeout=5.0):
    """POST a webhook form; delivery failures are logged, never raised (best effort)."""
    body = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    # The simulator talks to a local receiver; an inherited HTTP proxy would only get in the way.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except OSError as exc:
        log.warning("webhook delivery to %s failed: %s", url, exc)
        return None


class AutoSettler(threading.Thread):
    """Settles transactions ``settle_after`` seconds after submission and sends webhooks."""

    def __init__(self, gateway, settle_after, webhook_url, public_key, private_key):
        super().__init__(name="braintree-sim-settler", daemon=True)
        self.gateway = gateway
        self.settle_after = settle_after
        self.webhook_url = webhook_url
        self.keys = (public_key, private_key)
        self.stopped = threading.Event()
        self.interval = min(max(settle_after / 4, 0.05), 1.0)

    def run(self):
        while not self.stopped.wait(self.interval):
            self.settle_due()

    def settle_due(self):
        """Settle everything that is due now; return the settled transactions."""
        due = self.gateway.due_for_settlement(self.gateway.clock() - self.settle_after)
        settled = [tx for tx in map(self.gateway.settle, due) if tx is not None]
        if self.webhook_url:
            for tx in settled:
                kind = KIND_BY_STATUS.get(tx["status"])
                if kind:
                    deliver(self.webhook_url, notification(kind, tx, *self.keys))
        return settled

    def stop(self):
        """Stop the loop at its next tick."""
        self.stopped.set()
