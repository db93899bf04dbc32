"""config.settings.production refuses every development fallback, and passes `check --deploy`.

Refusals are checked by importing the module afresh under a patched environment (it reads the
environment at import, through config.env); the deploy check and the entry points' default run
in subprocesses, as a deploy would.
"""

import importlib
import ipaddress
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = "config.settings.production"

# What a real deploy must set; none of it is a development default.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "q7Vf2xK9pL4mZs8RtY1wE6uI0oPaSdFgHjKlZxCvBnM3QwErTyUiOp5AsDfGhJ",
    "DJANGO_ALLOWED_HOSTS": "payments.example.com",
    "DATABASE_URL": "postgres://payments@db.internal:5432/payments",
    "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
    "CACHE_URL": "redis://cache.internal:6379/1",
    "BRAINTREE_ENVIRONMENT": "production",
    "BRAINTREE_MERCHANT_ID": "m3rch4nt1d",
    "BRAINTREE_PUBLIC_KEY": "pub1ick3y",
    "BRAINTREE_PRIVATE_KEY": "pr1v4t3k3y0123456789",
    "BRAINTREE_MERCHANT_ACCOUNTS": "USD:acct_usd,GBP:acct_gbp",
    "METRICS_TOKEN": "mT4kQ9zR2vX7bN1pL8sD3fG6hJ0wE5yU",
    "TRUSTED_PROXIES": "127.0.0.1,::1",
}


@pytest.fixture
def load_production(monkeypatch):
    """Import the production settings module afresh with PRODUCTION_ENV plus `changes` (None unsets)."""

    def load(**changes):
        for name, value in {**PRODUCTION_ENV, **changes}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        sys.modules.pop(PRODUCTION, None)
        return importlib.import_module(PRODUCTION)

    yield load
    sys.modules.pop(PRODUCTION, None)


def test_production_settings_load_with_every_required_variable_set(load_production):
    # when
    settings = load_production()
    # then
    assert settings.DEBUG is False
    assert settings.BRAINTREE_ENVIRONMENT == "production"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings.DATABASES["default"]["HOST"] == "db.internal"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG"),
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "local-development-only-not-a-secret"}, "development key or too weak"),
        ({"DJANGO_SECRET_KEY": "test-only-not-a-secret"}, "development key or too weak"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "development key or too weak"),
        ({"DJANGO_SECRET_KEY": "ab" * 40}, "development key or too weak"),
        ({"BRAINTREE_ENVIRONMENT": "simulator"}, "BRAINTREE_ENVIRONMENT"),
        ({"BRAINTREE_MERCHANT_ID": "sim_merchant"}, "BRAINTREE_MERCHANT_ID is a gateway simulator credential"),
        ({"BRAINTREE_PUBLIC_KEY": "sim_public_key"}, "BRAINTREE_PUBLIC_KEY is a gateway simulator credential"),
        ({"BRAINTREE_PRIVATE_KEY": "sim_private_key"}, "BRAINTREE_PRIVATE_KEY is a gateway simulator credential"),
        ({"BRAINTREE_MERCHANT_ID": None}, "BRAINTREE_MERCHANT_ID is not set"),
        ({"BRAINTREE_PRIVATE_KEY": ""}, "BRAINTREE_PRIVATE_KEY is not set"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": None}, "CELERY_BROKER_URL"),
        ({"CACHE_URL": None}, "CACHE_URL"),
        ({"CACHE_URL": "locmemcache://"}, "CACHE_URL must name a cache shared by every process"),
        ({"BRAINTREE_MERCHANT_ACCOUNTS": None}, "BRAINTREE_MERCHANT_ACCOUNTS is not set"),
        ({"BRAINTREE_MERCHANT_ACCOUNTS": "USD:sim_merchant_account"}, "simulator merchant account"),
        ({"PAYMENTS_CURRENCIES": "USD,EUR"}, "PAYMENTS_CURRENCIES .* disagrees with BRAINTREE_MERCHANT_ACCOUNTS"),
        # Open configurations: each refusal names the variable and the fix.
        ({"DJANGO_SECRET_KEY": "abcde" * 10}, "DJANGO_SECRET_KEY has too little entropy .* generate a random one"),
        ({"DJANGO_SECRET_KEY": "correcthorsebatterystaple" * 2}, "DJANGO_SECRET_KEY has too little entropy"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS contains '\\*'; list the host names"),
        ({"DJANGO_ALLOWED_HOSTS": "payments.example.com,*"}, "DJANGO_ALLOWED_HOSTS contains '\\*'"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS is not set; list the host names"),
        ({"DATABASE_URL": "sqlite:////srv/payments/db.sqlite3"}, "DATABASE_URL names SQLite; production needs PostgreSQL"),
        ({"PAYMENTS_GATEWAY": "fake"}, "PAYMENTS_GATEWAY is 'fake'; production uses 'braintree'"),
        ({"METRICS_TOKEN": None}, "METRICS_TOKEN is not set or shorter than 32 characters; generate one"),
        ({"METRICS_TOKEN": "short-token"}, "METRICS_TOKEN is not set or shorter than 32 characters"),
        ({"TRUSTED_PROXIES": None}, "TRUSTED_PROXIES is not set; name the reverse proxies .* or 'none'"),
        ({"TRUSTED_PROXIES": "127.0.0.1,proxy.internal"}, "TRUSTED_PROXIES: 'proxy.internal' is not an IP address"),
    ],
    ids=lambda value: value if isinstance(value, str) else ",".join(f"{k}={v}" for k, v in value.items()),
)
def test_production_settings_refuse_a_development_fallback(load_production, changes, reason):
    with pytest.raises(ImproperlyConfigured, match=reason):
        load_production(**changes)


def test_a_refused_credential_is_never_echoed(load_production):
    # given: a private key that looks like the simulator's, but is secret-shaped
    secret = "sim_private_key_but_this_part_is_secret"
    # when
    with pytest.raises(ImproperlyConfigured) as refused:
        load_production(BRAINTREE_PRIVATE_KEY=secret)
    # then
    assert secret not in str(refused.value)


def test_a_refused_secret_key_or_metrics_token_is_never_echoed(load_production):
    for name, weak in (("DJANGO_SECRET_KEY", "abcde" * 10), ("METRICS_TOKEN", "short-token")):
        with pytest.raises(ImproperlyConfigured) as refused:
            load_production(**{name: weak})
        assert weak not in str(refused.value)


def test_a_random_secret_key_of_django_or_python_passes_the_entropy_bar(load_production):
    # given the generators the docs and Django name
    from django.core.management.utils import get_random_secret_key

    for key in (get_random_secret_key(), secrets.token_urlsafe(64), secrets.token_hex(32)):
        # when / then
        assert load_production(DJANGO_SECRET_KEY=key).SECRET_KEY == key


def test_trusted_proxies_are_networks_and_none_means_clients_connect_directly(load_production):
    assert load_production(TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1").TRUSTED_PROXIES == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
    )
    assert load_production(TRUSTED_PROXIES="none").TRUSTED_PROXIES == ()


def test_api_docs_and_schema_refuse_anonymous_visitors_on_production_settings():
    # given a production process (no database needed: nobody is logged in)
    code = (
        "import django; django.setup(); from django.test import Client; c = Client(); "
        "print([c.get(p, HTTP_HOST='payments.example.com', secure=True).status_code "
        "for p in ('/api/schema/', '/api/docs/')])"
    )
    # when
    result = run_python(["-c", code], {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": PRODUCTION})
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] in ("[401, 401]", "[403, 403]")


def test_sandbox_is_accepted_only_when_asked_for_by_name(load_production):
    assert load_production(BRAINTREE_ENVIRONMENT="sandbox").BRAINTREE_ENVIRONMENT == "sandbox"
    assert load_production(BRAINTREE_ENVIRONMENT=None).BRAINTREE_ENVIRONMENT == "production"


def run_python(args, env):
    base = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "BRAINTREE_"))}
    for name in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL"):
        base.pop(name, None)
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_check_deploy_reports_no_issues_on_production_settings():
    # when
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                        {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": PRODUCTION})
    # then
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"METRICS_TOKEN": None}, "METRICS_TOKEN"),
        ({"PAYMENTS_GATEWAY": "fake"}, "PAYMENTS_GATEWAY"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS"),
        ({"DATABASE_URL": "sqlite:////tmp/payments.sqlite3"}, "DATABASE_URL"),
        ({"DJANGO_SECRET_KEY": "abcde" * 10}, "DJANGO_SECRET_KEY"),
        ({"TRUSTED_PROXIES": None}, "TRUSTED_PROXIES"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_check_deploy_fails_naming_the_variable_of_an_open_configuration(changes, variable):
    # given what a deploy would set, with one thing left open
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": PRODUCTION, **changes}
    env = {name: value for name, value in env.items() if value is not None}
    # when
    result = run_python(["manage.py", "check", "--deploy"], env)
    # then
    assert result.returncode != 0
    assert f"Production settings refuse to start: {variable}" in result.stderr


@pytest.mark.parametrize("module", ["config.wsgi", "celery_app"])
def test_entry_points_without_a_settings_module_run_on_production_settings(module):
    # given: no DJANGO_SETTINGS_MODULE, and nothing but development defaults around
    code = f"import {module}; from django.conf import settings; settings.DEBUG"
    # when
    result = run_python(["-c", code], {})
    # then: production settings loaded, and refused the missing secret key
    assert result.returncode != 0
    assert "Production settings refuse to start: DJANGO_SECRET_KEY is not set." in result.stderr
