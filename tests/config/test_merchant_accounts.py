"""BRAINTREE_MERCHANT_ACCOUNTS: each accepted currency's merchant account, parsed by config/env.py."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import merchant_accounts, refuse_other_currency_list

DEFAULT = {"USD": "sim_merchant_account"}


def test_each_currency_maps_to_its_account_in_the_order_given(monkeypatch):
    # given
    monkeypatch.setenv("BRAINTREE_MERCHANT_ACCOUNTS", " USD:acct_usd , GBP:acct_gbp,")
    # when / then
    assert merchant_accounts("BRAINTREE_MERCHANT_ACCOUNTS", DEFAULT) == {"USD": "acct_usd", "GBP": "acct_gbp"}


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_or_empty_variable_falls_back_to_the_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("BRAINTREE_MERCHANT_ACCOUNTS", raising=False)
    else:
        monkeypatch.setenv("BRAINTREE_MERCHANT_ACCOUNTS", value)
    assert merchant_accounts("BRAINTREE_MERCHANT_ACCOUNTS", DEFAULT) == DEFAULT


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("USD", "CURRENCY:merchant_account_id"),
        ("USD:", "CURRENCY:merchant_account_id"),
        ("usd:acct", "'usd' is not an upper-case ISO 4217 code"),
        ("DOLLAR:acct", "'DOLLAR' is not an upper-case ISO 4217 code"),
        ("USD:a,USD:b", "USD is listed twice"),
        (",", "names no currency"),
    ],
)
def test_a_malformed_mapping_is_refused_naming_the_variable(monkeypatch, value, message):
    monkeypatch.setenv("BRAINTREE_MERCHANT_ACCOUNTS", value)
    with pytest.raises(ImproperlyConfigured, match=f"BRAINTREE_MERCHANT_ACCOUNTS: .*{message}|{message}") as refused:
        merchant_accounts("BRAINTREE_MERCHANT_ACCOUNTS", DEFAULT)
    assert "BRAINTREE_MERCHANT_ACCOUNTS" in str(refused.value)


def test_payments_currencies_may_only_repeat_the_accounts_currencies(monkeypatch):
    accounts = {"USD": "acct_usd", "GBP": "acct_gbp"}
    # given the same set, in another order: accepted
    monkeypatch.setenv("PAYMENTS_CURRENCIES", "GBP,USD")
    refuse_other_currency_list(accounts)
    # given a currency without an account: refused, naming both variables
    monkeypatch.setenv("PAYMENTS_CURRENCIES", "USD,GBP,EUR")
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_CURRENCIES .* disagrees with BRAINTREE_MERCHANT_ACCOUNTS"):
        refuse_other_currency_list(accounts)


def test_test_settings_map_usd_eur_and_gbp_to_the_simulators_default_accounts(settings):
    assert settings.BRAINTREE_MERCHANT_ACCOUNTS == {
        "USD": "sim_merchant_account",
        "EUR": "sim_merchant_account_eur",
        "GBP": "sim_merchant_account_gbp",
    }
