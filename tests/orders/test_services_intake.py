"""payments/orders/services/intake.py: storing an order once per Idempotency-Key, and its dispatch."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.core.exceptions import IdempotencyKeyReused
from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.orders.services import order_create
from payments.tasks import charge_order_task
from tests.factories import UserFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db


def create(owner, amount="12.34", key=None, description=""):
    return order_create(
        owner=owner, amount=Decimal(amount), nonce="fake-valid-nonce", description=description, idempotency_key=key
    )


def test_a_new_order_is_stored_pending_and_its_charge_is_published_after_commit(published, committed):
    # given
    owner = UserFactory()
    # when
    with committed():
        result = create(owner)
    # then
    order = Order.objects.get(pk=result.order.pk)
    assert result.created is True
    assert (order.status, order.amount, order.ever_claimed, order.last_sale_outcome) == (
        OrderStatus.PENDING,
        Decimal("12.34"),
        False,
        "",
    )
    assert trail(order) == [("create", "")]
    assert published == [("charge_order_task", str(order.pk))]


def test_a_replay_with_the_same_key_and_body_returns_the_order_without_publishing_again(published, committed):
    # given
    owner = UserFactory()
    with committed():
        first = create(owner, key="checkout-1")
    # when: the same amount, written differently
    with committed():
        replay = create(owner, amount="12.340", key="checkout-1")
    # then
    assert (replay.created, replay.order.pk) == (False, first.order.pk)
    assert Order.objects.count() == 1
    assert published == [("charge_order_task", str(first.order.pk))]


def test_the_same_key_with_another_body_is_refused_and_stores_nothing(published, committed):
    # given
    owner = UserFactory()
    with committed():
        create(owner, key="checkout-1")
    # when / then
    with pytest.raises(IdempotencyKeyReused), committed():
        create(owner, key="checkout-1", description="another order")
    assert Order.objects.count() == 1
    assert len(published) == 1


def test_an_order_whose_publish_fails_stays_pending_for_the_reconciler(committed, caplog):
    # given a broker that refuses the message
    owner = UserFactory()
    with mock.patch.object(charge_order_task, "apply_async", side_effect=ConnectionError("redis://:pw@host")):
        # when
        with committed():
            result = create(owner)
    # then: the order is kept (the outbox), and the log names the class, never the URL
    assert Order.objects.get(pk=result.order.pk).status == OrderStatus.PENDING
    assert "ConnectionError" in caplog.text and "pw@" not in caplog.text


def test_a_new_key_is_stored_without_a_lookup_and_a_replay_rolls_its_insert_back(published, committed):
    # given
    owner = UserFactory()
    # when: a new key
    with CaptureQueriesContext(connection) as queries, committed():
        first = create(owner, key="checkout-1")
    # then: the key's lock, the order, its creation event
    statements = [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert statements == ["SELECT", "INSERT", "INSERT"]
    assert "pg_try_advisory_xact_lock" in queries.captured_queries[1]["sql"]
    # when: the same request again; its insert meets the unique key and is rolled back
    with committed():
        replay = create(owner, key="checkout-1")
    # then
    assert (replay.created, replay.order.pk) == (False, first.order.pk)
    assert list(Order.objects.values_list("pk", flat=True)) == [first.order.pk]
    assert trail(first.order) == [("create", "")]
    assert published == [("charge_order_task", str(first.order.pk))]
