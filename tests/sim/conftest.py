"""Fixtures: one in-process simulator per session, reset before every test, and SDK clients.

Nothing here touches a database. Only ``test_faults.py`` imports project code (the SDK transport
in `payments.gateways`, whose package reads Django's settings); the rest also runs with
``-p no:django``.
"""

import pytest

from braintree_sim.config import SimConfig
from braintree_sim.server import make_server
from devtools.proxy import drop_proxy_variables
from tests.sim.helpers import Control, sdk_gateway

# The SDK forces getproxies() onto every request; an HTTP proxy cannot reach 127.0.0.1.
drop_proxy_variables()


@pytest.fixture(scope="session")
def sim():
    server = make_server(SimConfig(port=0, seed=1234)).start()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh_state(request):
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").reset()


@pytest.fixture
def gateway(sim):
    return sdk_gateway(sim.url)


@pytest.fixture
def control(sim):
    return Control(sim.url)


@pytest.fixture
def make_sim():
    """Start in-process simulators with a custom :class:`SimConfig`; all are closed afterwards."""
    servers = []

    def start(**config):
        server = make_server(SimConfig(port=0, **config)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
