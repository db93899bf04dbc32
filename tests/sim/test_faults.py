"""Injected faults as the SDK sees them: exception types, timing and what reached the ledger.

Each test runs over both transports the project can give the SDK: its own requests session and
`payments.gateways.transport.PooledHttp`; a fault must look the same through either.
"""

import time

import braintree
import pytest
from braintree.exceptions import http as http_exceptions

from payments.gateways.transport import PooledHttp
from tests.sim.helpers import sale, sdk_gateway

SALES = {"methods": ["POST"], "paths": ["/transactions"]}


@pytest.fixture(params=[None, PooledHttp], ids=["sdk-transport", "pooled-transport"])
def transport(request):
    return request.param


@pytest.fixture
def gateway(sim, transport):
    return sdk_gateway(sim.url, http_strategy=transport)


def _timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except Exception as exc:
        return exc, time.monotonic() - started


def test_fixed_latency_delays_the_answer(gateway, control):
    # given
    control.set_faults({"kind": "latency", "latency_ms": 300})

    # when
    result, elapsed = _timed(lambda: sale(gateway))

    # then
    assert result.is_success
    assert elapsed >= 0.3


def test_jitter_adds_a_seeded_random_delay_on_top(gateway, control):
    # given
    control.set_faults({"kind": "latency", "latency_ms": 100, "jitter_ms": 200}, seed=3)

    # when
    elapsed = [_timed(lambda: sale(gateway))[1] for _ in range(3)]

    # then
    assert all(0.1 <= each < 1.0 for each in elapsed)
    assert max(elapsed) - min(elapsed) > 0.005


@pytest.mark.parametrize("status, exception", [
    (500, braintree.exceptions.ServerError),
    (503, braintree.exceptions.ServiceUnavailableError),
    (429, braintree.exceptions.TooManyRequestsError),
    (504, braintree.exceptions.GatewayTimeoutError),
])
def test_error_fault_raises_the_mapped_sdk_exception_and_records_nothing(
        gateway, control, status, exception):
    # given
    control.set_faults({"kind": "error", "status": status, **SALES})

    # when / then
    with pytest.raises(exception):
        sale(gateway, order_id="faulted")
    assert control.ledger(order_id="faulted") == []


def test_fault_targeted_at_sales_leaves_other_routes_alone(gateway, control):
    # given
    tx = sale(gateway).transaction
    control.set_faults({"kind": "error", "status": 503, **SALES})

    # when
    found = gateway.transaction.find(tx.id)

    # then
    assert found.id == tx.id
    with pytest.raises(braintree.exceptions.ServiceUnavailableError):
        sale(gateway)


def test_fault_with_a_count_only_hits_the_next_n_requests(gateway, control):
    # given
    control.set_faults({"kind": "error", "status": 500, "count": 2, **SALES})

    # when
    outcomes = [_timed(lambda: sale(gateway))[0] for _ in range(3)]

    # then
    assert [type(each).__name__ for each in outcomes] == ["ServerError", "ServerError",
                                                          "SuccessfulResult"]
    assert control.get("/__sim__/faults")["rules"][0]["count"] == 0


def test_fault_rate_is_reproducible_with_a_seed(gateway, control):
    # given
    def pattern():
        control.set_faults({"kind": "error", "status": 503, "rate": 0.5, **SALES}, seed=42)
        return [isinstance(_timed(lambda: sale(gateway))[0], Exception) for _ in range(30)]

    # when
    first, second = pattern(), pattern()

    # then
    assert first == second
    assert 5 < sum(first) < 25


def test_hang_past_the_client_timeout_raises_read_timeout(sim, control, transport):
    # given
    gateway = sdk_gateway(sim.url, timeout=0.5, http_strategy=transport)
    control.set_faults({"kind": "hang", "seconds": 5, **SALES})

    # when
    outcome, elapsed = _timed(lambda: sale(gateway, order_id="hung"))

    # then
    assert isinstance(outcome, http_exceptions.timeout_error.ReadTimeoutError)
    assert 0.5 <= elapsed < 3


def test_commit_then_drop_records_the_sale_but_the_client_sees_a_connection_error(
        gateway, control):
    # given
    control.set_faults({"kind": "drop", "count": 1, **SALES})

    # when
    outcome, _ = _timed(lambda: sale(gateway, order_id="dropped", api_request_key="drop-key"))
    retried = sale(gateway, order_id="dropped", api_request_key="drop-key")

    # then
    assert isinstance(outcome, http_exceptions.ConnectionError)
    rows = control.ledger(order_id="dropped")
    assert len(rows) == 1 and rows[0]["status"] == "authorized"
    assert retried.transaction.id == rows[0]["id"]


def test_control_routes_are_never_faulted(control):
    # given
    control.set_faults({"kind": "error", "status": 500})

    # when
    health = control.get("/__sim__/health")

    # then
    assert health["status"] == "ok"
