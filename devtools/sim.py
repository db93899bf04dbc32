"""What a client of the gateway simulator needs to know: its credentials and fault selectors."""

from braintree_sim.config import SimConfig

_DEFAULTS = SimConfig()

# The simulator's own defaults, as the settings' BRAINTREE_* variables of a stack process.
SIM_KEYS = {
    "BRAINTREE_MERCHANT_ID": _DEFAULTS.merchant_id,
    "BRAINTREE_PUBLIC_KEY": _DEFAULTS.public_key,
    "BRAINTREE_PRIVATE_KEY": _DEFAULTS.private_key,
}

# Selects sale requests in a fault rule (schema: braintree_sim/README.md).
SALE_REQUESTS = {"methods": ["POST"], "paths": ["/transactions"]}


def sale_rule(**rule):
    """A fault rule that applies to sale requests only, e.g. `sale_rule(kind="drop", count=1)`."""
    return {**SALE_REQUESTS, **rule}

# Selects refund and void requests (after the sale).
REFUND_REQUESTS = {"methods": ["POST"], "paths": ["/transactions/*/refund"]}
VOID_REQUESTS = {"methods": ["PUT"], "paths": ["/transactions/*/void"]}
