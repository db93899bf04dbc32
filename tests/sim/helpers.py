"""SDK and control-API clients shared by the simulator tests."""

import braintree
import requests

from braintree_sim.config import SimConfig

DEFAULT = SimConfig()


def sdk_gateway(base_url, merchant_id=DEFAULT.merchant_id, public_key=DEFAULT.public_key,
                private_key=DEFAULT.private_key, timeout=5):
    """A real SDK gateway pointed at a simulator base URL."""
    host, port = base_url.rsplit("//", 1)[1].split(":")
    environment = braintree.Environment("sim", host, port, "", False, None)
    return braintree.BraintreeGateway(braintree.Configuration(
        environment=environment, merchant_id=merchant_id, public_key=public_key,
        private_key=private_key, timeout=timeout, wrap_http_exceptions=True,
    ))


class Control:
    """JSON client for the ``/__sim__`` control API."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False

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
