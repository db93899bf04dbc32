"""API tokens: stored as a digest with an expiry, checked in constant time, refused once expired."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from payments.tokens.services import api_token_is_valid, api_token_issue, api_token_rotate

pytestmark = pytest.mark.django_db


def with_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_database_keeps_a_digest_and_an_expiry_never_the_key(user, settings):
    # when
    key = api_token_issue(user)
    # then
    [row] = AuthToken.objects.filter(user=user).values()
    assert row["digest"] == hashlib.sha512(key.encode()).hexdigest()
    assert all(key not in str(value) for value in row.values())
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert ttl == timedelta(days=90)
    assert abs(row["expiry"] - (timezone.now() + ttl)) < timedelta(minutes=1)


def test_a_token_is_sent_as_before_and_answers_for_its_user(user):
    # given
    key = api_token_issue(user)
    # when
    response = with_token(key).get("/api/orders/")
    # then
    assert response.status_code == 200
    assert api_token_is_valid(user, key)


def test_an_expired_token_is_refused_and_deleted(user):
    # given
    key = api_token_issue(user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    # when
    response = with_token(key).get("/api/orders/")
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not AuthToken.objects.filter(user=user).exists()


@pytest.mark.parametrize("header", [b"Token \xff\xfe", b"Token " + b"a" * 15 + b"\xe9"])
def test_a_key_that_is_not_utf8_is_a_401_not_a_500(user, header):
    # given a live token whose first characters the bad key shares
    api_token_issue(user)
    # when
    response = APIClient().get("/api/orders/", HTTP_AUTHORIZATION=header.decode("latin-1"))
    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_wrong_key_with_a_real_prefix_is_refused(user):
    # given
    key = api_token_issue(user)
    forged = key[:15] + "0" * (len(key) - 15)
    # when / then
    assert with_token(forged).get("/api/orders/").status_code == 401
    assert not api_token_is_valid(user, forged)


def test_rotation_ends_every_older_token_of_the_user_only(user, django_user_model):
    # given two tokens of the user and one of someone else
    first, second = api_token_issue(user), api_token_issue(user)
    other_user = django_user_model.objects.create_user("other")
    others = api_token_issue(other_user)
    # when
    new = api_token_rotate(user)
    # then
    assert [api_token_is_valid(user, key) for key in (first, second, new)] == [False, False, True]
    assert api_token_is_valid(other_user, others)
