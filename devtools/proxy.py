"""No HTTP proxy for anything that talks to this machine."""

import os

# The braintree SDK forces urllib's getproxies() onto every request, so a proxy variable in the
# environment breaks plain-HTTP calls to the local simulator.
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def drop_proxy_variables(environ=None):
    """Remove every proxy variable from `environ` (default: this process's) in place; returns it."""
    environ = os.environ if environ is None else environ
    for name in PROXY_VARIABLES:
        environ.pop(name, None)
    return environ
