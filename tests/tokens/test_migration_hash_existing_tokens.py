"""Migration 0014: plain-text DRF tokens become digests with the same keys, and the plain text is gone."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("payments.migrations.0014_security_hash_existing_tokens")
LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


@pytest.fixture
def legacy_table():
    # The table rest_framework.authtoken created, as an upgraded database still has it.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
            "user_id integer NOT NULL UNIQUE)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE authtoken_token")


def test_an_existing_key_keeps_working_and_its_plain_text_is_deleted(legacy_table):
    # given a client's DRF token from before the upgrade
    user = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [LEGACY_KEY, user.pk])
    # when
    with connection.schema_editor() as schema_editor:
        migration.hash_plaintext_tokens(django_apps, schema_editor)
    # then
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert client.get("/api/orders/").status_code == 200
    token = AuthToken.objects.get(user=user)
    assert token.expiry is not None and LEGACY_KEY not in token.digest
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)


def test_a_database_without_the_old_table_has_nothing_to_move():
    # when
    with connection.schema_editor() as schema_editor:
        migration.hash_plaintext_tokens(django_apps, schema_editor)
    # then
    assert not AuthToken.objects.exists()
