"""config/env.py: typed readers over the environment, empty meaning unset, errors naming the variable."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import comma_list, env


def test_an_empty_variable_falls_back_to_its_default(monkeypatch):
    # given
    monkeypatch.setenv("PAYMENTS_TEST_NUMBER", "")
    # when
    value = env.int("PAYMENTS_TEST_NUMBER", default=7)
    # then
    assert value == 7


def test_an_empty_required_variable_counts_as_missing(monkeypatch):
    monkeypatch.setenv("PAYMENTS_TEST_SECRET", "")
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_TEST_SECRET"):
        env.str("PAYMENTS_TEST_SECRET")


def test_a_non_integer_names_the_variable_but_not_its_value(monkeypatch):
    monkeypatch.setenv("PAYMENTS_TEST_NUMBER", "ten-s3cret")
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_TEST_NUMBER: cannot be read as int") as refused:
        env.int("PAYMENTS_TEST_NUMBER", default=7)
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("On", True), ("yes", True),
                                               ("0", False), ("false", False), ("off", False)])
def test_booleans_read_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("PAYMENTS_TEST_FLAG", raw)
    assert env.bool("PAYMENTS_TEST_FLAG", default=not expected) is expected


def test_comma_lists_are_stripped_and_skip_empty_items(monkeypatch):
    monkeypatch.setenv("PAYMENTS_TEST_LIST", " USD, GBP ,,EUR,")
    assert comma_list("PAYMENTS_TEST_LIST", default=["X"]) == ["USD", "GBP", "EUR"]


def test_database_and_cache_urls_become_django_dictionaries(monkeypatch):
    # given
    monkeypatch.setenv("PAYMENTS_TEST_DB", "postgres://alice:pw@db.internal:5433/payments?sslmode=require")
    monkeypatch.setenv("PAYMENTS_TEST_CACHE", "redis://cache.internal:6379/2")
    # when
    database = env.db_url("PAYMENTS_TEST_DB")
    cache = env.cache_url("PAYMENTS_TEST_CACHE")
    # then
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == ("db.internal", 5433, "payments", "alice")
    assert database["OPTIONS"] == {"sslmode": "require"}
    assert cache == {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://cache.internal:6379/2"}


def test_every_variable_the_settings_read_is_documented_in_env_example():
    # given every variable name config/ passes to a reader
    config = Path(__file__).resolve().parents[2] / "config"
    reader = re.compile(r'(?:env\.\w+|comma_list|gateway_credential|merchant_accounts|trusted_proxies)\(\s*"([A-Z][A-Z0-9_]+)"')
    read = {name for path in config.rglob("*.py") for name in reader.findall(path.read_text())}
    # when
    example = (config.parent / ".env.example").read_text()
    # then
    assert len(read) > 30
    assert sorted(name for name in read if f"# {name}=" not in example) == []
