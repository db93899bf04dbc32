"""The simulator as a subprocess: CLI flags, SQLite persistence across a kill, signed webhooks."""

import time

import braintree
import pytest

from braintree_sim.__main__ import parse_args
from braintree_sim.config import SimConfig
from braintree_sim.launch import start_subprocess
from braintree_sim.server import make_server
from tests.sim.helpers import Control, WebhookReceiver, sale, sdk_gateway, wait_for


@pytest.fixture
def spawn():
    processes = []

    def start(*args):
        process, url = start_subprocess(args=args)
        processes.append(process)
        return process, url

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_state_survives_a_killed_and_restarted_simulator(spawn, tmp_path):
    # given
    state = str(tmp_path / "sim.sqlite3")
    process, url = spawn("--state", state)
    gateway, control = sdk_gateway(url), Control(url)
    tx = sale(gateway, order_id="durable", api_request_key="durable-key",
              options={"submit_for_settlement": True}).transaction
    spent, unspent = control.mint_nonce(), control.mint_nonce()
    sale(gateway, nonce=spent)
    process.kill()
    process.wait()

    # when
    _, url = spawn("--state", state)
    gateway, control = sdk_gateway(url), Control(url)

    # then
    assert gateway.transaction.find(tx.id).status == "submitted_for_settlement"
    found = gateway.transaction.search(braintree.TransactionSearch.order_id == "durable")
    assert [each.id for each in found] == [tx.id]
    replay = sale(gateway, order_id="durable", api_request_key="durable-key",
                  options={"submit_for_settlement": True})
    assert replay.transaction.id == tx.id
    assert sale(gateway, nonce=spent).errors.deep_errors[0].code == "91564"
    assert sale(gateway, nonce=unspent).is_success
    assert len(control.ledger()) == 3


def test_cli_fault_flags_apply_from_start(spawn):
    # given
    _, url = spawn("--error-rate", "1", "--error-status", "503",
                   "--fault-methods", "POST", "--fault-paths", "/transactions")
    gateway = sdk_gateway(url)

    # when / then
    with pytest.raises(braintree.exceptions.ServiceUnavailableError):
        sale(gateway)
    assert Control(url).get("/__sim__/faults")["rules"][0]["status"] == 503


def test_wrong_keys_on_a_custom_configured_subprocess_raise_authentication_error(spawn):
    # given
    _, url = spawn("--merchant-id", "m1", "--public-key", "pub", "--private-key", "priv")

    # when
    good = sale(sdk_gateway(url, merchant_id="m1", public_key="pub", private_key="priv"))

    # then
    assert good.is_success
    with pytest.raises(braintree.exceptions.AuthenticationError):
        sale(sdk_gateway(url, merchant_id="m1", public_key="pub", private_key="nope"))


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def settling_sim(webhook_receiver):
    config = SimConfig(port=0, settle_after=0.2, webhook_url=webhook_receiver.url)
    server = make_server(config).start()
    yield server
    server.close()


@pytest.mark.parametrize("amount, kind, status", [
    ("10.00", "transaction_settled", "settled"),
    ("4001.00", "transaction_settlement_declined", "settlement_declined"),
])
def test_auto_settlement_sends_a_webhook_the_sdk_accepts(
        settling_sim, webhook_receiver, amount, kind, status):
    # given
    gateway = sdk_gateway(settling_sim.url)
    tx = sale(gateway, amount, options={"submit_for_settlement": True}).transaction

    # when
    delivered = wait_for(lambda: webhook_receiver.received)

    # then
    assert delivered
    form = webhook_receiver.received[0]
    notification = gateway.webhook_notification.parse(form["bt_signature"], form["bt_payload"])
    assert notification.kind == kind
    assert notification.transaction.id == tx.id
    assert notification.transaction.status == status
    assert gateway.transaction.find(tx.id).status == status


def test_webhook_signature_is_rejected_by_a_client_with_another_private_key(
        settling_sim, webhook_receiver):
    # given
    sale(sdk_gateway(settling_sim.url), options={"submit_for_settlement": True})
    assert wait_for(lambda: webhook_receiver.received)
    form = webhook_receiver.received[0]

    # when / then
    stranger = sdk_gateway(settling_sim.url, private_key="another")
    with pytest.raises(braintree.exceptions.InvalidSignatureError):
        stranger.webhook_notification.parse(form["bt_signature"], form["bt_payload"])


def test_auto_settlement_leaves_authorized_sales_alone(settling_sim, webhook_receiver):
    # given
    gateway = sdk_gateway(settling_sim.url)
    tx = sale(gateway).transaction

    # when
    time.sleep(0.6)

    # then
    assert gateway.transaction.find(tx.id).status == "authorized"
    assert webhook_receiver.received == []


def test_merchant_account_flags_configure_the_accounts_and_their_currencies(spawn):
    # given
    _, url = spawn("--merchant-account", "shop_eur:EUR", "--merchant-account", "shop_usd:USD")
    gateway = sdk_gateway(url)

    # when
    default = sale(gateway).transaction
    usd = sale(gateway, merchant_account_id="shop_usd").transaction

    # then
    assert (default.merchant_account_id, default.currency_iso_code) == ("shop_eur", "EUR")
    assert usd.currency_iso_code == "USD"


@pytest.mark.parametrize("flag", ["no-currency", "acct:gbp", "acct:GBPX", ":GBP"])
def test_malformed_merchant_account_flag_is_refused_at_start(flag):
    # when / then
    with pytest.raises(SystemExit):
        parse_args(["--merchant-account", flag])


def test_control_token_comes_from_the_flag_or_else_the_environment():
    # when
    from_env = parse_args([], environ={"BRAINTREE_SIM_CONTROL_TOKEN": "env-token"})
    from_flag = parse_args(["--control-token", "flag-token"],
                           environ={"BRAINTREE_SIM_CONTROL_TOKEN": "env-token"})
    unset = parse_args([], environ={})

    # then
    assert (from_env.control_token, from_flag.control_token, unset.control_token) == (
        "env-token", "flag-token", None)


def test_disputes_survive_a_killed_and_restarted_simulator(spawn, tmp_path):
    # given
    state = str(tmp_path / "sim.sqlite3")
    process, url = spawn("--state", state)
    gateway = sdk_gateway(url)
    tx = sale(gateway, "25.00", options={"submit_for_settlement": True}).transaction
    gateway.testing.settle_transaction(tx.id)
    dispute_id = Control(url).post("/__sim__/disputes",
                                   {"transaction_id": tx.id}).json()["dispute"]["id"]
    process.kill()
    process.wait()

    # when
    _, url = spawn("--state", state)
    gateway = sdk_gateway(url)

    # then
    assert gateway.dispute.find(dispute_id).status == "open"
    assert [d.id for d in gateway.transaction.find(tx.id).disputes] == [dispute_id]
    assert gateway.dispute.accept(dispute_id).is_success
