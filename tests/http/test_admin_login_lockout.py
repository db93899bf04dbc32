"""Admin logins: django-axes locks a username+address pair out after AXES_FAILURE_LIMIT failures and
a username after AXES_USERNAME_FAILURE_LIMIT from many addresses; addresses come from trusted
proxies only; password validators on."""

import ipaddress
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


def log_in(password, address="192.0.2.10", forwarded_for=None):
    """One admin login attempt from `address` (a proxy when `forwarded_for` is given); the response
    and whether a session was opened."""
    client = Client(REMOTE_ADDR=address)
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    response = client.post(LOGIN_URL, {"username": "ops", "password": password}, **headers)
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


def test_behind_a_trusted_proxy_a_lockout_is_the_forwarded_clients_not_everyones(admin_user, settings):
    # given a proxy on the same host, and an attacker behind it who spent the limit
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in("wrong", address="127.0.0.1", forwarded_for="203.0.113.9")
    # when the attacker tries the right password, and the admin logs in from elsewhere through the proxy
    attacker, attacker_in = log_in(PASSWORD, address="127.0.0.1", forwarded_for="203.0.113.9")
    admin, admin_in = log_in(PASSWORD, address="127.0.0.1", forwarded_for="198.51.100.20")
    # then
    assert (attacker.status_code, attacker_in) == (429, False)
    assert (admin.status_code, admin_in) == (302, True)


def test_a_spoofed_forwarded_address_from_an_untrusted_peer_changes_nothing(admin_user, settings):
    # given a trusted proxy elsewhere, and an attacker reaching the web process directly
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    settings.AXES_FAILURE_LIMIT = 3
    # when each wrong password claims a fresh address
    for n in range(3):
        log_in("wrong", address="203.0.113.9", forwarded_for=f"198.51.100.{n}")
    response, logged_in = log_in(PASSWORD, address="203.0.113.9", forwarded_for="198.51.100.99")
    # then the attempts were counted against the socket's address, and it is locked out
    assert (response.status_code, logged_in) == (429, False)


def test_failures_spread_over_many_addresses_lock_the_username_everywhere(admin_user, settings):
    # given a pair limit of 3 and a username limit of 6, and two addresses each at its pair limit
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_USERNAME_FAILURE_LIMIT = 6
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(3):
            log_in("wrong", address=address)
    # when the admin logs in from a third address with the right password
    response, logged_in = log_in(PASSWORD, address="198.51.100.20")
    # then
    assert (response.status_code, logged_in) == (429, False)


def test_one_address_never_reaches_the_username_limit_however_long_it_tries(admin_user, settings):
    # given one address that keeps failing long past its own lockout
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_USERNAME_FAILURE_LIMIT = 6
    for _ in range(12):
        log_in("wrong", address="203.0.113.1")
    # when the admin logs in from elsewhere
    response, logged_in = log_in(PASSWORD, address="198.51.100.20")
    # then: that address counts at most its pair limit towards the username's
    assert (response.status_code, logged_in) == (302, True)


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
    assert base.AXES_USERNAME_FAILURE_LIMIT == 30
    assert base.AXES_HANDLER == "payments.http.lockout.TieredLockoutHandler"
    assert base.AXES_CLIENT_IP_CALLABLE == "payments.http.proxies.client_ip"
    assert base.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert base.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert base.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert base.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
