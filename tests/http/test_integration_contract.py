"""The API contract against a live stack: Schemathesis, and a client generated from the schema.

Real processes: gunicorn on the test database, a payments worker (threads, as in production), a
private redis-server and the gateway simulator, which settles sales after a moment so refunds
complete. The schema is read from the running server (`/api/schema/`), as a client would.

- Schemathesis (pinned in requirements-dev.txt) runs its four phases (examples, coverage,
  fuzzing, stateful) with every check, and must report no failure: each answer is one the
  schema documents, in status, headers, content type and body, and no request gets a 5xx.
- openapi-python-client (pinned) generates a Python package from the same schema; the test
  imports it and uses only its models and functions to create an order, poll it to `paid`,
  refund part of it, see the replay marked, and read a validation error.
"""

import importlib
import json
import subprocess
import sys
import time
import uuid
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

BIN = Path(sys.executable).parent
# Enough cases per operation for every phase to reach each answer, small enough for a few
# minutes on two cores; the seed makes a failure reproducible with the printed command.
MAX_EXAMPLES = 100
SEED = 20261207
# What each check accepts beyond its defaults, and why.
CONFIG = Path(__file__).with_name("schemathesis.toml")
SETTLE_AFTER_SECONDS = 2


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("contract")
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    with (
        RedisServer(run_dir=run_dir) as redis_server,
        Simulator(run_dir=run_dir, extra_args=("--settle-after", str(SETTLE_AFTER_SECONDS))) as sim,
    ):
        env = environment(db_name=db_name, broker_url=redis_server.url(0), simulator_url=sim.url, extra=FAST_SETTINGS)
        web = WebServer(env=env, run_dir=run_dir)
        processes = [Worker(name="payments", queues="payments", pool="threads", concurrency=8, env=env,
                            run_dir=run_dir), web]
        try:
            start_together(processes)
            yield web
        finally:
            stop_together(processes)


@pytest.fixture
def token():
    return api_token_issue(UserFactory())


def test_schemathesis_finds_no_answer_outside_the_schema(stack, token, tmp_path):
    # given the live stack's own schema and a client token
    report = tmp_path / "schemathesis.json"
    command = [
        str(BIN / "st"), "--config-file", str(CONFIG), "run", f"{stack.url}/api/schema/?format=json",
        "--header", f"Authorization: Token {token}",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        # JSON bodies are UTF-8 text: no lone surrogates (which DRF refuses with a 400 anyway).
        "--generation-codec", "utf-8",
        "--workers", "2",
        "--request-timeout", "10",
        "--report", "json", "--report-json-path", str(report),
    ]

    # when
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)

    # then every phase ran and passed: no check failed and no request got a 5xx
    summary = json.loads(report.read_text())
    print(summary_line(summary))
    assert run.returncode == 0, failures_section(run.stdout + run.stderr)
    assert summary["failures"] == [], failures_section(run.stdout)
    assert {name: phase["status"] for name, phase in summary["phases"].items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    )
    assert summary["test_cases"]["generated"] > 500
    assert summary["test_cases"]["with_failures"] == summary["test_cases"]["errored"] == 0


def summary_line(summary):
    cases = summary["test_cases"]
    return (
        f"schemathesis {summary['schemathesis_version']}: {cases['generated']} cases, "
        f"{cases['with_failures']} with failures, {cases['errored']} errored, seed {summary['seed']}, "
        f"{summary['running_time']:.1f} s"
    )


def failures_section(output):
    """Schemathesis's FAILURES section, each line cut short (a failing case may carry a 2 MB body)."""
    lines = [line[:300] for line in output.splitlines()]
    start = next((i for i, line in enumerate(lines) if "FAILURES" in line), max(0, len(lines) - 60))
    return "\n".join(lines[start:start + 200])


def generated_client_package(url, out_dir):
    """Generate and import a client for the schema at `url` with openapi-python-client."""
    status, _, schema = http_request("GET", f"{url}/api/schema/?format=json", timeout=10)
    assert status == 200
    (out_dir / "schema.json").write_text(json.dumps(schema))
    # No post hooks: the generated code is imported as it comes, not formatted.
    (out_dir / "config.yaml").write_text("package_name_override: payments_api_client\npost_hooks: []\n")
    subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", "schema.json", "--meta", "none",
         "--config", "config.yaml", "--output-path", "payments_api_client"],
        cwd=out_dir, check=True, capture_output=True, text=True, timeout=120,
    )
    sys.path.insert(0, str(out_dir))
    try:
        return importlib.import_module("payments_api_client")
    finally:
        sys.path.remove(str(out_dir))


def test_a_client_generated_from_the_schema_pays_refunds_and_reads_errors(stack, token, tmp_path):
    # given a client package generated from the live schema, authenticated with a token
    client_package = generated_client_package(stack.url, tmp_path)
    api = importlib.import_module("payments_api_client.api.orders.orders_create")
    read = importlib.import_module("payments_api_client.api.orders.orders_retrieve")
    refund_create = importlib.import_module("payments_api_client.api.refunds.refunds_create")
    refund_read = importlib.import_module("payments_api_client.api.refunds.refunds_retrieve")
    models = importlib.import_module("payments_api_client.models")
    client = client_package.AuthenticatedClient(base_url=stack.url, token=token, prefix="Token")

    # when it submits an order and polls it until it is final
    accepted = api.sync_detailed(
        client=client,
        body=models.OrderCreateInput(amount="12.34", payment_method_nonce="fake-valid-nonce", description="generated"),
    )
    assert accepted.status_code == 202
    order = accepted.parsed
    assert isinstance(order, models.Order)
    for _ in range(100):
        order = read.sync(client=client, order_id=order.id)
        if order.status.value in ("paid", "failed", "needs_review"):
            break
        time.sleep(0.2)

    # then it is paid, with the typed fields the schema promised
    assert order.status == models.OrderStatusEnum.PAID
    assert (order.amount, order.currency, order.dispute_status, order.failure_reason) == ("12.34", "USD", None, "")
    assert order.transaction_id
    assert order.payment_method is None  # a nonce order: no saved method

    # when it refunds part of it, twice with one Idempotency-Key
    key = str(uuid.uuid4())
    first = refund_create.sync_detailed(
        client=client, order_id=order.id, body=models.RefundCreateInput(amount="2.00"), idempotency_key=key
    )
    again = refund_create.sync_detailed(
        client=client, order_id=order.id, body=models.RefundCreateInput(amount="2.00"), idempotency_key=key
    )

    # then one refund exists, the replay says so, and the refund completes once the sale settled
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.parsed.id == first.parsed.id
    assert ("idempotent-replayed" in first.headers, again.headers.get("idempotent-replayed")) == (False, "true")
    refund = first.parsed
    for _ in range(150):
        refund = refund_read.sync(client=client, order_id=order.id, refund_id=refund.id)
        if refund.status.value in ("succeeded", "failed", "needs_review"):
            break
        time.sleep(0.2)
    assert (refund.status.value, refund.kind.value, refund.amount, refund.currency) == ("succeeded", "refund", "2.00", "USD")
    assert (refund.failure_reason, refund.status_detail) == ("", "")

    # and a validation error comes back as the typed 400 the schema declares
    invalid = api.sync_detailed(client=client, body=models.OrderCreateInput(amount="0.001", payment_method_nonce="x"))
    assert invalid.status_code == 400
    assert invalid.parsed.additional_properties == {"amount": ["Ensure that there are no more than 2 decimal places."]}
