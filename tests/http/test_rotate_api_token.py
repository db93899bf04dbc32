"""`manage.py rotate_api_token`: the old token stops working, the new one works, printed once."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.fixtures.api import client_for

pytestmark = pytest.mark.django_db


def rotate(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def with_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_rotating_a_token_revokes_the_old_key_and_prints_a_working_new_one(user):
    # given a client using its token
    old_client = client_for(user)
    old_key = Token.objects.get(user=user).key
    assert old_client.get("/api/orders/").status_code == 200
    # when
    new_key, message = rotate(user.username)
    # then
    assert new_key != old_key
    assert Token.objects.get(user=user).key == new_key
    assert old_client.get("/api/orders/").status_code == 401
    assert with_token(new_key).get("/api/orders/").status_code == 200
    assert new_key not in message  # the key goes to stdout only


def test_revoking_a_token_leaves_the_user_without_one(user):
    # given
    client = client_for(user)
    # when
    printed, _ = rotate(user.username, "--revoke")
    # then
    assert printed == ""
    assert not Token.objects.filter(user=user).exists()
    assert client.get("/api/orders/").status_code == 401


def test_rotating_the_token_of_an_unknown_user_fails_and_changes_nothing(user):
    # given
    client_for(user)
    before = list(Token.objects.values_list("key", flat=True))
    # when / then
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        rotate("nobody")
    assert list(Token.objects.values_list("key", flat=True)) == before != []
