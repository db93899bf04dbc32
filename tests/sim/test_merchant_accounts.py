"""Merchant accounts: each charges in its own currency; an unknown account is a validation error."""

import pytest

from braintree_sim.config import SimConfig
from braintree_sim.server import make_server
from tests.sim.helpers import Control, sale, sdk_gateway, settled_sale


def test_sale_without_merchant_account_is_charged_on_the_default_usd_account(gateway, control):
    # when
    tx = sale(gateway, "10.00", order_id="default-account").transaction

    # then
    assert (tx.merchant_account_id, tx.currency_iso_code) == ("sim_merchant_account", "USD")
    row, = control.ledger(order_id="default-account")
    assert (row["merchant_account_id"], row["currency_iso_code"]) == ("sim_merchant_account", "USD")


@pytest.mark.parametrize("account, currency", [
    ("sim_merchant_account_eur", "EUR"),
    ("sim_merchant_account_gbp", "GBP"),
    ("sim_merchant_account_cad", "CAD"),
    ("sim_merchant_account_aud", "AUD"),
])
def test_sale_on_a_default_account_is_charged_in_that_accounts_currency(
        gateway, control, account, currency):
    # when
    tx = sale(gateway, merchant_account_id=account, order_id="chosen").transaction

    # then
    found = gateway.transaction.find(tx.id)
    assert (found.merchant_account_id, found.currency_iso_code) == (account, currency)
    row, = control.ledger(order_id="chosen")
    assert (row["merchant_account_id"], row["currency_iso_code"]) == (account, currency)


def test_sale_on_an_unknown_merchant_account_is_rejected_with_91513_and_not_recorded(
        gateway, control):
    # when
    result = sale(gateway, merchant_account_id="no_such_account", order_id="unknown-account")

    # then
    assert not result.is_success
    error, = result.errors.for_object("transaction").on("merchant_account_id")
    assert (error.code, error.message) == ("91513", "Merchant account ID is invalid.")
    assert result.transaction is None
    assert control.ledger(order_id="unknown-account") == []


def test_refund_is_credited_on_the_sales_account_in_its_currency(gateway):
    # given
    tx = settled_sale(gateway, merchant_account_id="sim_merchant_account_gbp")

    # when
    credit = gateway.transaction.refund(tx.id, "5.00").transaction

    # then
    assert (credit.merchant_account_id, credit.currency_iso_code) == (
        "sim_merchant_account_gbp", "GBP")


def test_merchant_accounts_are_listed_with_the_default_first(control):
    # when
    accounts = control.get("/__sim__/merchant_accounts")["merchant_accounts"]

    # then
    assert accounts[0] == {"id": "sim_merchant_account", "currency_iso_code": "USD",
                           "default": True}
    assert [a["currency_iso_code"] for a in accounts] == ["USD", "EUR", "GBP", "CAD", "AUD"]


@pytest.fixture
def configured_sim():
    accounts = {"acct_gbp": "GBP", "acct_usd": "USD"}
    server = make_server(SimConfig(port=0, merchant_accounts=accounts)).start()
    yield server
    server.close()


def test_configured_accounts_replace_the_defaults_and_the_first_is_the_default(configured_sim):
    # given
    gateway = sdk_gateway(configured_sim.url)

    # when
    default = sale(gateway).transaction
    usd = sale(gateway, merchant_account_id="acct_usd").transaction
    sandbox_default = sale(gateway, merchant_account_id="sim_merchant_account")

    # then
    assert (default.merchant_account_id, default.currency_iso_code) == ("acct_gbp", "GBP")
    assert (usd.merchant_account_id, usd.currency_iso_code) == ("acct_usd", "USD")
    assert sandbox_default.errors.deep_errors[0].code == "91513"
    ids = [a["id"] for a in Control(configured_sim.url).get(
        "/__sim__/merchant_accounts")["merchant_accounts"]]
    assert ids == ["acct_gbp", "acct_usd"]
