"""Admin logins: django-axes locks a username+address pair out after AXES_FAILURE_LIMIT failures; password validators on."""

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from config.settings import base
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN_URL = "/admin/login/?next=/admin/"


@pytest.fixture
def admin_user():
    return UserFactory(username="ops", password=PASSWORD, is_staff=True, is_superuser=True)


def log_in(password, address="192.0.2.10"):
    """One admin login attempt from `address`; the response and whether a session was opened."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN_URL, {"username": "ops", "password": password})
    return response, "_auth_user_id" in client.session


def test_the_attempt_after_the_failure_limit_is_refused_even_with_the_right_password(admin_user, settings):
    # given as many wrong passwords as the limit allows
    settings.AXES_FAILURE_LIMIT = 3
    failures = [log_in("wrong")[0].status_code for _ in range(3)]
    # when the right password comes next from the same address
    response, logged_in = log_in(PASSWORD)
    # then
    assert failures[:2] == [200, 200]  # the login form again, with an error
    assert response.status_code == 429
    assert logged_in is False


def test_a_locked_out_username_can_still_log_in_from_another_address(admin_user, settings):
    # given the pair (ops, 192.0.2.10) is locked out
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in("wrong")
    # when the admin logs in from elsewhere
    response, logged_in = log_in(PASSWORD, address="198.51.100.20")
    # then: an attacker cannot lock a known admin out of every address
    assert response.status_code == 302
    assert logged_in is True


def test_a_successful_login_resets_the_failure_count(admin_user, settings):
    # given
    settings.AXES_FAILURE_LIMIT = 3
    log_in("wrong")
    log_in("wrong")
    assert log_in(PASSWORD)[1] is True
    # when two more failures follow
    log_in("wrong")
    log_in("wrong")
    # then the right password still opens a session
    assert log_in(PASSWORD)[1] is True


def test_password_validators_refuse_short_common_and_numeric_passwords(admin_user):
    for weak in ("short1", "password123456", "123456789012", "ops"):
        with pytest.raises(ValidationError):
            validate_password(weak, user=admin_user)
    validate_password(PASSWORD, user=admin_user)


def test_the_default_lockout_is_five_failures_of_one_username_from_one_address_for_fifteen_minutes():
    assert base.AXES_FAILURE_LIMIT == 5
    assert base.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert base.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert base.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert base.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
