"""`make demo` (scripts/demo.py) against a live stack: every order final, counts per outcome.

Real processes: the simulator, a payments worker and gunicorn on the test database and a
private redis-server, as `make run` has them (no beat: the demo needs no reconciler).
"""

import collections
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from devtools.settings import FAST_SETTINGS
from devtools.stack import (
    RedisServer,
    Simulator,
    WebServer,
    Worker,
    environment,
    http_request,
    start_together,
    stop_together,
)
from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.py"
# Every kind is planned at least once whatever the seed; 14 orders draw seven more by weight.
ORDERS, SEED = 14, 2
# The simulator settles each sale this long after it (`make run`'s gateway does the same, after
# BRAINTREE_SIM_SETTLE_AFTER_SECONDS): the demo's partial refund waits for it, its full refund is
# asked long before it and voids the sale.
SETTLE_AFTER_SECONDS = 4


def demo_module():
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def web(tmp_path):
    with (
        RedisServer(run_dir=tmp_path) as redis_server,
        Simulator(run_dir=tmp_path, extra_args=("--settle-after", str(SETTLE_AFTER_SECONDS))) as sim,
    ):
        env = environment(
            db_name=connection.settings_dict["NAME"],
            broker_url=redis_server.url(0),
            simulator_url=sim.url,
            extra=FAST_SETTINGS,
        )
        web = WebServer(env=env, run_dir=tmp_path)
        processes = [Worker(name="payments", queues="payments", concurrency=2, env=env, run_dir=tmp_path), web]
        try:
            start_together(processes)
            yield web
        finally:
            stop_together(processes)


def test_demo_ends_with_every_order_final_and_each_kind_as_expected(web):
    # given a live stack and a client token
    token = api_token_issue(UserFactory())
    planned = collections.Counter(kind.name for kind, _ in demo_module().plan(ORDERS, SEED))

    # when the demo runs against it
    run = subprocess.run(
        [sys.executable, str(DEMO), "--base-url", web.url, "--token", token, "--rate", "10",
         "--orders", str(ORDERS), "--seed", str(SEED), "--timeout", "90", "--json"],
        capture_output=True, text=True, timeout=150, cwd=ROOT,
    )

    # then it exits 0 and its summary shows every order final, each kind ending as it should
    assert run.returncode == 0, run.stdout + run.stderr
    [line] = [line for line in run.stdout.splitlines() if line.startswith("DEMO_SUMMARY ")]
    summary = json.loads(line.removeprefix("DEMO_SUMMARY "))
    assert summary["total"]["orders"] == summary["total"]["final"] == ORDERS
    assert summary["total"]["unexpected"] == 0
    rows = {row["kind"]: row for row in summary["kinds"]}
    assert {name: row["orders"] for name, row in rows.items()} == dict(planned)
    assert set(planned) == {kind.name for kind in demo_module().KINDS}
    for row in rows.values():
        assert row[row["expected"]] == row["orders"], row
    # a duplicate pair is two POSTs and one order
    pairs = rows["duplicate pair"]
    assert pairs["submitted"] == 2 * pairs["orders"]
    assert summary["total"]["max_s"] is not None
    # and the two refunds: a void before settlement, a partial refund after it, each replay marked
    refunds = {row["refund"]: row for row in summary["refunds"]}
    assert {name: (r["kind"], r["status"], r["replayed"], r["http"]) for name, r in refunds.items()} == {
        "full refund": ("void", "succeeded", True, [202, 202]),
        "partial 2.00": ("refund", "succeeded", True, [202, 202]),
    }
    assert refunds["partial 2.00"]["amount"] == "2.00"
    # and the tables were printed for people
    assert "time to final status" in run.stdout
    assert "make demo: refunds" in run.stdout
    # and a 5001.00 rejection says why through the API (real SDK, simulator, worker, gunicorn)
    status, _, body = http_request(
        "GET", f"{web.url}/api/orders/?status=failed", headers={"Authorization": f"Token {token}"}
    )
    assert status == 200
    rejected = [o for o in body["results"] if o["amount"] == "5001.00"]
    assert len(rejected) == rows["rejected 5001"]["orders"]
    assert {(o["gateway_rejection_reason"], o["failure_reason"]) for o in rejected} == {
        ("application_incomplete", "Gateway Rejected: application_incomplete")
    }
