"""Customers and saved payment methods in the admin: masked cards, the orders on each, never the token."""

import pytest

from tests.factories import OrderFactory, PaymentMethodFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_a_payment_method_page_shows_the_masked_card_and_its_orders_but_never_the_token(admin_client):
    # given
    method = PaymentMethodFactory()
    order = OrderFactory(owner=method.customer.owner, payment_method=method, payment_method_nonce="")
    # when
    page = admin_client.get(f"/admin/payments/paymentmethod/{method.pk}/change/")
    listing = admin_client.get("/admin/payments/paymentmethod/")
    customer = admin_client.get(f"/admin/payments/customer/{method.customer.pk}/change/")
    # then
    for response in (page, listing, customer):
        assert response.status_code == 200
        body = response.content.decode()
        assert "Visa •••• 1111 (12/2030)" in body
        assert method.gateway_token not in body and method.pk.hex not in body
    assert str(order.pk) in page.content.decode()
