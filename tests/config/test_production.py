"""config.settings.production refuses every development fallback, and passes `check --deploy`.

Refusals are checked by importing the module afresh under a patched environment (it reads the
environment at import, through config.env); the deploy check and the entry points' default run
in subprocesses, as a deploy would.
"""

import importlib
import os
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


@pytest.mark.parametrize("module", ["config.wsgi", "celery_app"])
def test_entry_points_without_a_settings_module_run_on_production_settings(module):
    # given: no DJANGO_SETTINGS_MODULE, and nothing but development defaults around
    code = f"import {module}; from django.conf import settings; settings.DEBUG"
    # when
    result = run_python(["-c", code], {})
    # then: production settings loaded, and refused the missing secret key
    assert result.returncode != 0
    assert "Production settings refuse to start: DJANGO_SECRET_KEY is not set." in result.stderr
