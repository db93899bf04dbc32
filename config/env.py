"""The one reader of the process environment for settings (django-environ).

Settings modules import `env` from here and call its typed readers (`env.bool`, `env.int`,
`env.list`, `env.db_url`, `env.cache_url`) with the default beside the variable, so each default
is written once, where the setting is defined. https://django-environ.readthedocs.io/
"""

import os
from collections.abc import Mapping
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class SetVariables(Mapping):
    """`os.environ` without empty values, read live.

    `NAME=` in a `.env` file or a deploy manifest means "not set, use the default", as it did
    before django-environ: an empty integer falls back instead of crashing, and an empty secret or
    credential counts as missing, so production refuses it rather than starting with "".
    """

    def __init__(self, source):
        self._source = source

    def __getitem__(self, name):
        value = self._source[name]
        if value == "":
            raise KeyError(name)
        return value

    def __iter__(self):
        return (name for name, value in self._source.items() if value != "")

    def __len__(self):
        return sum(1 for _ in self)


class Env(environ.Env):
    """django-environ's reader, with errors that name the variable that could not be parsed."""

    @classmethod
    def parse_value(cls, value, cast):
        try:
            return super().parse_value(value, cast)
        except (TypeError, ValueError) as exc:
            # The value is not echoed: a misplaced secret must not end up in a crash log.
            raise ImproperlyConfigured(f"cannot be read as {getattr(cast, '__name__', cast)}") from exc

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ImproperlyConfigured as exc:
            if var in str(exc):
                raise
            raise ImproperlyConfigured(f"{var}: {exc}") from exc


env = Env()
env.ENVIRON = SetVariables(os.environ)


def comma_list(name, default):
    """A comma-separated variable as a list, items stripped and empty items dropped."""
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


def merchant_accounts(name, default):
    """`CUR:account,CUR:account` as `{"CUR": "account"}`: each accepted currency's merchant account.

    Braintree charges in the currency of the merchant account a sale names, one account per
    presentment currency, so this mapping is also the list of currencies the API accepts.
    Currency codes must be three upper-case letters, each listed once, each with an account.
    """
    raw = env.str(name, default=None)
    if raw is None:
        return dict(default)
    accounts = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        currency, sep, account = (piece.strip() for piece in item.partition(":"))
        if not sep or not account:
            raise ImproperlyConfigured(f"{name}: each item must be CURRENCY:merchant_account_id, e.g. USD:acct_usd")
        if len(currency) != 3 or not currency.isascii() or not currency.isalpha() or not currency.isupper():
            raise ImproperlyConfigured(f"{name}: {currency!r} is not an upper-case ISO 4217 code")
        if currency in accounts:
            raise ImproperlyConfigured(f"{name}: {currency} is listed twice")
        accounts[currency] = account
    if not accounts:
        raise ImproperlyConfigured(f"{name} names no currency")
    return accounts


def refuse_other_currency_list(accounts, name="PAYMENTS_CURRENCIES", accounts_name="BRAINTREE_MERCHANT_ACCOUNTS"):
    """Refuse a PAYMENTS_CURRENCIES that disagrees with the merchant accounts' currencies.

    The API accepts exactly the keys of BRAINTREE_MERCHANT_ACCOUNTS. PAYMENTS_CURRENCIES was the
    list before merchant accounts; an old deployment may still set it, but only to the same set,
    so it can never accept a currency it has no account to charge in.
    """
    legacy = comma_list(name, default=[])
    if legacy and set(legacy) != set(accounts):
        raise ImproperlyConfigured(
            f"{name} ({','.join(legacy)}) disagrees with {accounts_name} ({','.join(accounts)}); "
            f"the accepted currencies are the keys of {accounts_name}: unset {name}."
        )
