"""payments/customers/services: storing a card exactly once, deleting it, the reconciler's share; on the fake gateway."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.core.exceptions import GatewayUnavailable
from payments.core.statuses import OrderStatus, PaymentMethodStatus
from payments.customers.services import (
    payment_method_add,
    payment_method_delete,
    payment_method_gateway_delete,
    payment_method_store,
    payment_methods_reconcile,
)
from payments.models import PaymentMethod
from payments.orders.services import order_charge
from tests.factories import CustomerFactory, OrderFactory, PaymentMethodFactory

pytestmark = pytest.mark.django_db


def test_a_stored_card_becomes_active_with_its_masked_facts_and_the_nonce_is_dropped(fake, published, committed):
    # given
    customer = CustomerFactory()
    with committed():
        method = payment_method_add(customer=customer, nonce="fake-valid-visa-nonce")
    # when
    payment_method_store(payment_method_id=method.pk)
    # then
    method.refresh_from_db()
    assert published == [("store_payment_method_task", str(method.pk))]
    assert (method.status, method.card_type, method.last_4, method.is_default) == ("active", "Visa", "1111", True)
    assert method.payment_method_nonce == ""
    assert fake.payment_method_find(method.gateway_token) is not None
    customer.refresh_from_db()
    assert customer.gateway_customer_created


def test_a_declined_verification_fails_the_method_with_the_processor_code(fake):
    # given
    method = PaymentMethodFactory(status="pending", payment_method_nonce="fake-processor-declined-visa-nonce",
                                  last_4="", card_type="", is_default=False)
    # when
    payment_method_store(payment_method_id=method.pk)
    # then
    method.refresh_from_db()
    assert method.status == PaymentMethodStatus.FAILED
    assert "processor declined (2000)" in method.failure_reason
    assert fake.payment_method_find(method.gateway_token) is None


def test_a_store_whose_answer_was_lost_is_found_on_retry_and_not_stored_twice(fake):
    # given: the vault stored the card, but the answer never came back
    method = PaymentMethodFactory(status="pending", payment_method_nonce=fake.mint_nonce(), last_4="", card_type="")
    fake.fail_next("payment_method_store", applied=True)
    with pytest.raises(GatewayUnavailable):
        payment_method_store(payment_method_id=method.pk)
    # when: the task's retry
    payment_method_store(payment_method_id=method.pk)
    # then: the retry found its own token; the spent single-use nonce was not offered again
    method.refresh_from_db()
    assert method.status == PaymentMethodStatus.ACTIVE
    stores = [c for c in fake.calls if c[0] == "payment_method_store"]
    assert len(stores) == 1
    assert ("payment_method_find", method.gateway_token) in fake.calls


def test_a_deleted_method_is_never_charged_even_for_an_order_queued_before(fake, published, committed):
    # given: an order accepted on the method, then the method deleted before its charge ran
    method = PaymentMethodFactory()
    fake.customer_create(customer_id=method.customer.gateway_customer_id)
    fake._vault[method.gateway_token] = object()
    order = OrderFactory(owner=method.customer.owner, payment_method=method, payment_method_nonce="")
    with committed():
        payment_method_delete(payment_method=method)
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "deleted" in order.failure_reason
    assert fake.transactions(str(order.pk)) == []
    assert ("delete_payment_method_task", str(method.pk)) in published


def test_an_order_on_a_saved_card_is_sold_on_its_token(fake):
    # given
    method = PaymentMethodFactory()
    fake._vault[method.gateway_token] = object()
    order = OrderFactory(owner=method.customer.owner, payment_method=method, payment_method_nonce="")
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    [sale] = fake.transactions(str(order.pk))
    assert (order.status, order.transaction_id) == (OrderStatus.PAID, sale.id)


def test_the_vault_delete_removes_the_token_and_is_recorded(fake, published, committed):
    # given
    method = PaymentMethodFactory()
    fake._vault[method.gateway_token] = object()
    with committed():
        payment_method_delete(payment_method=method)
    # when
    payment_method_gateway_delete(payment_method_id=method.pk)
    # then
    method.refresh_from_db()
    assert method.status == PaymentMethodStatus.DELETED and method.gateway_deleted_at is not None
    assert method.gateway_token not in fake._vault


def test_the_reconciler_resends_a_stuck_store_and_gives_up_after_too_many(fake, published, settings):
    # given
    old = timezone.now() - timedelta(minutes=5)
    stuck = PaymentMethodFactory(status="pending", store_attempts=1)
    spent = PaymentMethodFactory(status="pending", store_attempts=settings.PAYMENTS_MAX_CLAIMS)
    PaymentMethod.objects.filter(pk__in=[stuck.pk, spent.pk]).update(updated_at=old)
    # when
    counts = payment_methods_reconcile(pending_after_seconds=60, limit=100)
    # then
    assert counts["payment_methods_restored"] == 1 and counts["payment_methods_given_up"] == 1
    assert published == [("store_payment_method_task", str(stuck.pk))]
    spent.refresh_from_db()
    assert spent.status == PaymentMethodStatus.FAILED
