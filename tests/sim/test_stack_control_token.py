"""devtools.stack.Simulator runs the simulator with its control token on, and sends it itself."""

import pytest

from devtools.stack import Simulator, http_request, make_run_dir


@pytest.fixture(scope="module")
def stack_sim():
    with Simulator(run_dir=make_run_dir("sim-token")) as sim:
        yield sim


def test_the_harness_simulator_refuses_control_calls_without_its_token(stack_sim):
    # when: a control call without the header, and one with another token
    anonymous, _, _ = http_request("GET", f"{stack_sim.url}/__sim__/transactions")
    wrong, _, _ = http_request(
        "GET", f"{stack_sim.url}/__sim__/transactions", headers={"Authorization": "Bearer not-the-token"}
    )
    # then
    assert (anonymous, wrong) == (401, 401)


def test_the_simulator_class_sends_its_token_on_every_control_call(stack_sim):
    # when / then: the helpers tests and benchmarks use keep working
    stack_sim.reset()
    stack_sim.set_faults({})
    nonce = stack_sim.mint_nonce()
    assert nonce and stack_sim.transactions() == []
    assert stack_sim.faults() is not None


def test_each_simulator_gets_its_own_token_and_health_stays_open(stack_sim):
    # given
    other = Simulator(run_dir=stack_sim.run_dir, name="other")
    # then
    assert other.control_token and other.control_token != stack_sim.control_token
    assert other.env["BRAINTREE_SIM_CONTROL_TOKEN"] == other.control_token
    assert str(other.control_token) not in " ".join(map(str, other.command()))
    status, _, _ = http_request("GET", f"{stack_sim.url}/__sim__/health")
    assert status == 200
