"""The reference designs of comparison/ behave as the post describes on the happy path.

Real processes: the simulator, each design's web server and its own worker (runworker for
channels_seed, celery workers for celery_naive), PostgreSQL and a private Redis. Their failures
under faults in bench.compare are then the designs' own, not bugs of the port.
"""

from decimal import Decimal

import pytest

from devtools.polling import wait_until
from devtools.stack import RedisServer, Simulator
from comparison.stacks import CeleryNaive, ChannelsSeed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    with Simulator(run_dir=tmp_path_factory.mktemp("comparison-sim")) as sim:
        yield sim


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # A private Redis: the integration suite's session worker consumes the test broker's
    # "payments" queue, which is celery_naive's queue name too.
    with RedisServer(run_dir=tmp_path_factory.mktemp("comparison-redis")) as redis_server:
        yield redis_server


def final(design, order_id):
    order = design.orders().get(order_id)
    return order if order and order["status"] else None


@pytest.mark.parametrize("design_class", [ChannelsSeed, CeleryNaive], ids=["channels_seed", "celery_naive"])
def test_an_order_posted_to_the_api_is_paid_by_the_designs_own_worker_with_one_sale(
    design_class, simulator, broker, tmp_path
):
    simulator.reset()
    # The sweeper runs once at start (nothing to sweep) and then not again during the test.
    with design_class(run_dir=tmp_path, sim_url=simulator.url, broker_url=broker.url(0),
                      sweep_every=600) as design:
        status, paid_id, _ = design.submit("12.34", simulator.mint_nonce())
        declined_status, declined_id, _ = design.submit("2000.00", simulator.mint_nonce())
        assert (status, declined_status) == (201, 201)

        paid = wait_until(lambda: final(design, paid_id), timeout=20, desc="the order's final result")
        declined = wait_until(lambda: final(design, declined_id), timeout=20, desc="the decline's result")

    sales = {t["id"]: t for t in simulator.transactions() if t["type"] == "sale"}
    assert paid["status"] == "paid"
    assert Decimal(str(sales[paid["transaction_id"]]["amount"])) == Decimal("12.34")
    assert sales[paid["transaction_id"]]["status"] == "submitted_for_settlement"
    # The post's else-branch: a transaction whose found status is not a success marks the order failed.
    assert declined["status"] == "failed"
    assert sales[declined["transaction_id"]]["status"] == "processor_declined"
    assert len(sales) == 2
