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


def test_a_payment_method_page_lists_only_the_orders_charged_on_it_with_links(admin_client):
    # given two orders on this card, one on another card of the same customer, one paid with a nonce
    method = PaymentMethodFactory()
    other_method = PaymentMethodFactory(customer=method.customer, last_4="4444")
    owner = method.customer.owner
    on_it = [OrderFactory(owner=owner, payment_method=method, payment_method_nonce="") for _ in range(2)]
    elsewhere = [OrderFactory(owner=owner, payment_method=other_method, payment_method_nonce=""), OrderFactory(owner=owner)]
    unused = PaymentMethodFactory(customer=method.customer)
    # when
    body = admin_client.get(f"/admin/payments/paymentmethod/{method.pk}/change/").content.decode()
    unused_body = admin_client.get(f"/admin/payments/paymentmethod/{unused.pk}/change/").content.decode()
    # then each of its orders links to the order's page, and no other order is there
    for order in on_it:
        assert f'href="/admin/payments/order/{order.pk}/change/"' in body
    assert not any(str(order.pk) in body for order in elsewhere)
    # and a card never charged says so
    assert "Orders charged on it" in unused_body
    assert not any(str(order.pk) in unused_body for order in on_it + elsewhere)
