"""The admin lists who holds an API token and until when, and never shows a key or part of one."""

import pytest
from knox.models import AuthToken

from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/knox/authtoken/"


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_token_pages_show_the_holder_but_no_secret(superuser_client):
    # given
    holder = UserFactory(username="shop-api")
    key = api_token_issue(holder)
    token = AuthToken.objects.get(user=holder)
    assert key[:8] == token.token_key[:8]  # the stored prefix is the key's
    # when
    listing = superuser_client.get(CHANGELIST)
    page = superuser_client.get(f"{CHANGELIST}{token.pk}/change/")
    # then
    for response in (listing, page):
        assert response.status_code == 200
        body = response.content.decode()
        assert "shop-api" in body
        assert key[:8] not in body


def test_tokens_are_not_issued_or_edited_in_the_admin_but_can_be_revoked(superuser_client):
    # given
    holder = UserFactory()
    api_token_issue(holder)
    token = AuthToken.objects.get(user=holder)
    # when
    add = superuser_client.get(f"{CHANGELIST}add/")
    delete = superuser_client.post(f"{CHANGELIST}{token.pk}/delete/", {"post": "yes"})
    # then
    assert add.status_code == 403
    assert delete.status_code == 302
    assert not AuthToken.objects.filter(user=holder).exists()
