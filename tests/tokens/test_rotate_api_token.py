"""`manage.py rotate_api_token`: the old token stops working (at once or after a grace), the new one works."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
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


def test_rotating_a_token_ends_the_old_key_and_prints_a_working_new_one(user):
    # given a client using its token
    old_client = client_for(user)
    assert old_client.get("/api/orders/").status_code == 200
    # when
    new_key, message = rotate(user.username)
    # then
    assert old_client.get("/api/orders/").status_code == 401
    assert with_token(new_key).get("/api/orders/").status_code == 200
    assert AuthToken.objects.filter(user=user).count() == 1
    assert new_key not in message  # the key goes to stdout only
    assert "valid for 90 days" in message


def test_rotating_with_a_grace_keeps_the_old_key_working_until_it_ends(user):
    # given
    old_client = client_for(user)
    # when
    new_key, message = rotate(user.username, "--grace-minutes", "30")
    # then both work for now, and the old one ends within the grace
    assert old_client.get("/api/orders/").status_code == 200
    assert with_token(new_key).get("/api/orders/").status_code == 200
    old = AuthToken.objects.filter(user=user).order_by("created").first()
    assert timezone.now() < old.expiry <= timezone.now() + timedelta(minutes=30)
    assert "stop working in 30 minutes" in message
    # when the grace has passed
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    # then
    assert old_client.get("/api/orders/").status_code == 401
    assert with_token(new_key).get("/api/orders/").status_code == 200


def test_revoking_leaves_the_user_without_a_token(user):
    # given
    client = client_for(user)
    # when
    printed, _ = rotate(user.username, "--revoke")
    # then
    assert printed == ""
    assert not AuthToken.objects.filter(user=user).exists()
    assert client.get("/api/orders/").status_code == 401


def test_rotating_the_token_of_an_unknown_user_fails_and_changes_nothing(user):
    # given
    client_for(user)
    before = list(AuthToken.objects.values_list("digest", flat=True))
    # when / then
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        rotate("nobody")
    assert list(AuthToken.objects.values_list("digest", flat=True)) == before != []
