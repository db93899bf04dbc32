"""Every answer carries the Content-Security-Policy; sessions are short and end with the browser."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from config.settings import base
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-admin-password-1"


def directives(policy):
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


@pytest.mark.parametrize("path", ["/admin/login/", "/api/orders/", "/healthz", "/api/schema/"])
def test_every_answer_carries_a_policy_without_inline_script(client, path):
    # when
    response = client.get(path)
    # then
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == policy["base-uri"] == policy["frame-ancestors"] == ["'none'"]


def test_only_the_api_docs_page_allows_its_inline_style(client):
    # when
    policy = directives(client.get("/api/docs/")["Content-Security-Policy"])
    # then: Swagger UI's three lines of page style, but still no inline script
    assert "'unsafe-inline'" in policy["style-src"]
    assert policy["script-src"] == ["'self'"]


def test_the_api_docs_start_up_script_is_a_file_of_their_own(client):
    # when
    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")
    # then
    assert '<script src="/api/docs/?script=' in page
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_an_admin_session_ends_with_the_browser_and_after_eight_hours_at_most():
    # given
    UserFactory(username="ops", password=PASSWORD, is_staff=True, is_superuser=True)
    client = Client()
    # when
    client.post("/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD})
    # then the cookie has no lifetime of its own, and the server forgets the session in 8 hours
    cookie = client.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    session = Session.objects.get(session_key=cookie.value)
    assert (session.expire_date - timezone.now()).total_seconds() <= 8 * 3600
    assert base.SESSION_COOKIE_AGE == 8 * 3600
