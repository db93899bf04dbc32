"""A wire-compatible Braintree gateway simulator for development, tests and benchmarks.

Start it with ``python -m braintree_sim`` or in-process with
:func:`braintree_sim.server.make_server`. See ``braintree_sim/README.md``.
"""

from braintree_sim.config import SimConfig

__all__ = ["SimConfig"]
