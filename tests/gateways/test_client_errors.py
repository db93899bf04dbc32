"""A 4xx answer is permanent: the adapter over the real SDK, against an in-process simulator.

The SDK reports a status it has no exception class for as UnexpectedError("Unexpected
HTTP_RESPONSE 400"); the adapter must call that GatewayMisconfigured (park, alert), never
GatewayUnavailable (retry the same refused request six times).
"""

from decimal import Decimal

import braintree
import pytest

from braintree_sim.config import SimConfig
from braintree_sim.server import make_server
from devtools.proxy import drop_proxy_variables
from payments.core.exceptions import GatewayMisconfigured
from payments.gateways.braintree import BraintreeGateway
from tests.sim.helpers import sdk_gateway

drop_proxy_variables()


@pytest.fixture(scope="module")
def sim():
    server = make_server(SimConfig(port=0, seed=99)).start()
    yield server
    server.close()


@pytest.fixture
def gateway(sim):
    sim.reset()
    return BraintreeGateway(sdk=sdk_gateway(sim.url))


def test_a_sale_the_simulator_refuses_as_ill_formed_xml_is_permanent(gateway):
    # given a nonce with a control character, which the SDK puts into its XML as is
    # when / then
    with pytest.raises(GatewayMisconfigured, match="refused the request: HTTP 400") as refused:
        gateway.sale(order_id="o-1", amount=Decimal("10.00"), nonce="fake-valid-nonce\x01", api_request_key="o-1:0")
    assert type(refused.value.__cause__) is braintree.exceptions.UnexpectedError


def test_a_search_on_a_criterion_the_simulator_does_not_support_is_permanent(gateway):
    # given: the adapter's search, sent with a criterion the simulator refuses with HTTP 400
    real_search = gateway.sdk.transaction.search
    gateway.sdk.transaction.search = lambda *criteria: real_search(
        *criteria, braintree.TransactionSearch.billing_first_name == "no_such_person"
    )
    # when / then
    with pytest.raises(GatewayMisconfigured, match="search refused the request: HTTP 400"):
        gateway.search_by_order_id("o-1")


def test_a_supported_search_still_answers(gateway):
    # given / when / then: the same adapter without the unsupported criterion
    assert gateway.search_by_order_id("o-nothing") == []
