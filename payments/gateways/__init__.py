"""The payment gateway seam: `get_gateway()` returns the `Gateway` that `PAYMENTS_GATEWAY` names.

`braintree` (the default) is the real SDK, against Braintree or braintree_sim over HTTP; `fake`
is an in-process, deterministic gateway with the sandbox's rules, for service tests without any
process. The backend module is imported on first use, so the SDK is only loaded when chosen.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from payments.core.metrics import gateway_instrument
from payments.gateways.base import NONCE_CONSUMED, Gateway, SaleOutcome, SaleResult, TransactionInfo

__all__ = [
    "NONCE_CONSUMED",
    "Gateway",
    "SaleOutcome",
    "SaleResult",
    "TransactionInfo",
    "get_gateway",
    "reset_gateway",
]

BACKENDS = {
    "braintree": "payments.gateways.braintree.BraintreeGateway",
    "fake": "payments.gateways.fake.FakeGateway",
}

_gateway = None
_gateway_name = None
_gateway_lock = threading.Lock()


def get_gateway() -> Gateway:
    """The process-wide gateway of the configured backend, built on first use."""
    global _gateway, _gateway_name
    name = settings.PAYMENTS_GATEWAY
    if _gateway is None or _gateway_name != name:
        with _gateway_lock:
            if _gateway is None or _gateway_name != name:
                if name not in BACKENDS:
                    raise ImproperlyConfigured(f"PAYMENTS_GATEWAY must be one of {sorted(BACKENDS)}, not {name!r}")
                _gateway, _gateway_name = gateway_instrument(import_string(BACKENDS[name])()), name
    return _gateway


def reset_gateway():
    """Forget the cached gateway (after a settings change, e.g. in tests; a fake's ledger empties)."""
    global _gateway, _gateway_name
    with _gateway_lock:
        _gateway, _gateway_name = None, None
