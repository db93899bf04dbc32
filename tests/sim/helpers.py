"""SDK and control-API clients, a webhook receiver and a poller shared by the simulator tests."""

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import braintree
import requests

from braintree_sim.config import SimConfig

DEFAULT = SimConfig()


def sdk_gateway(base_url, merchant_id=DEFAULT.merchant_id, public_key=DEFAULT.public_key,
                private_key=DEFAULT.private_key, timeout=5, http_strategy=None):
    """A real SDK gateway pointed at a simulator base URL (`http_strategy`: the SDK's own if None)."""
    host, port = base_url.rsplit("//", 1)[1].split(":")
    environment = braintree.Environment("sim", host, port, "", False, None)
    return braintree.BraintreeGateway(braintree.Configuration(
        environment=environment, merchant_id=merchant_id, public_key=public_key,
        private_key=private_key, timeout=timeout, wrap_http_exceptions=True, http_strategy=http_strategy,
    ))


class Control:
    """JSON client for the ``/__sim__`` control API."""

    def __init__(self, base_url, token=None):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path, **params):
        response = self.session.get(self.base_url + path, params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, path, doc=None):
        return self.session.post(self.base_url + path, json=doc or {}, timeout=5)

    def ledger(self, **params):
        return self.get("/__sim__/transactions", **params)["transactions"]

    def set_faults(self, *rules, seed=None):
        response = self.post("/__sim__/faults", {"seed": seed, "rules": list(rules)})
        response.raise_for_status()
        return response.json()

    def mint_nonce(self, number="4111111111111111", expiration_date="12/2030", **extra):
        response = self.post("/__sim__/nonces",
                             {"number": number, "expiration_date": expiration_date, **extra})
        response.raise_for_status()
        return response.json()["nonce"]


def sale(gateway, amount="10.00", nonce="fake-valid-nonce", **params):
    """Run ``Transaction.sale`` with sensible defaults; returns the SDK result."""
    return gateway.transaction.sale({"amount": amount, "payment_method_nonce": nonce, **params})


def settled_sale(gateway, amount="100.00", **params):
    """A sale submitted for settlement and settled through the SDK's testing gateway."""
    tx = sale(gateway, amount, options={"submit_for_settlement": True}, **params).transaction
    return gateway.testing.settle_transaction(tx.id).transaction


def wait_for(predicate, timeout=5.0):
    """Poll ``predicate`` until it is truthy or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        receiver = self.server
        with receiver.lock:
            receiver.attempts += 1
            failing = receiver.failures_left > 0
            if failing:
                receiver.failures_left -= 1
            else:
                form = urllib.parse.parse_qs(body.decode("ascii"))
                receiver.received.append({key: values[0] for key, values in form.items()})
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class WebhookReceiver(ThreadingHTTPServer):
    """A local endpoint that records webhook forms; it answers 500 to the first ``fail_first``."""

    daemon_threads = True

    def __init__(self, fail_first=0):
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.lock = threading.Lock()
        self.received = []
        self.attempts = 0
        self.failures_left = fail_first
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/webhooks/braintree/"

    def close(self):
        self.shutdown()
        self.server_close()
