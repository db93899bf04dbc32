"""The output serializers build their fields once per class (ClassCachedFieldsMixin)."""

from decimal import Decimal
from unittest import mock

import pytest
from rest_framework import serializers

from payments.core.statuses import OrderStatus
from payments.models import Refund
from payments.refunds.serializers import RefundOutputSerializer
from payments.orders.serializers import OrderOutputSerializer
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def a_paid_order():
    return OrderFactory(status=OrderStatus.PAID, transaction_id="k8x2m4qd", error_codes=["91564"])


def instance_for(serializer_class):
    order = a_paid_order()
    if serializer_class is RefundOutputSerializer:
        return Refund.objects.create(order=order, amount=Decimal("1.00"))
    return order


@pytest.mark.parametrize("serializer_class", [OrderOutputSerializer, RefundOutputSerializer])
def test_output_serializer_builds_its_model_fields_once_and_renders_the_same(serializer_class, monkeypatch):
    # given a serializer class whose fields have never been built
    monkeypatch.delattr(serializer_class, "_class_built_fields", raising=False)
    instance = instance_for(serializer_class)
    build_field = mock.patch.object(
        serializers.ModelSerializer, "build_field", autospec=True, side_effect=serializers.ModelSerializer.build_field
    )

    # when it is instantiated twice
    with build_field as built:
        first = serializer_class(instance)
        first_data = first.data
        builds_of_first = built.call_count
        built.reset_mock()
        second = serializer_class(instance)
        second_data = second.data

    # then only the first introspected the model, and both render the same body
    assert builds_of_first > 0
    assert built.call_count == 0
    assert second_data == first_data
    # from fields of their own: binding a field to its serializer must not leak between instances
    assert all(second.fields[name] is not first.fields[name] for name in first.fields)
    assert all(field.parent is second for field in second.fields.values())


def test_a_subclass_builds_its_own_fields():
    # given the order serializer's fields built and cached
    OrderOutputSerializer(a_paid_order()).data

    # when a subclass with fewer fields is used
    class IdOnly(OrderOutputSerializer):
        class Meta(OrderOutputSerializer.Meta):
            fields = ["id"]
            read_only_fields = fields

    # then it renders its own fields, not its parent's
    assert list(IdOnly(a_paid_order()).data) == ["id"]
