"""Wire formats of the refund API, and the after-sale fields of an order."""

from rest_framework import serializers

from payments.http.serializers import ClassCachedFieldsMixin, MoneyField, UnknownFieldsMixin
from payments.models import Refund


class RefundCreateInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/orders/<id>/refunds/` (an empty body refunds everything not yet refunded)."""

    amount = MoneyField(
        required=False,
        help_text='Amount to refund, a string with at most two decimals, e.g. "5.00". Absent: the '
        "whole remainder (the order's amount less every refund that has not failed).",
    )


class RefundOutputSerializer(ClassCachedFieldsMixin, serializers.ModelSerializer):
    """A refund as API clients see it; its delivery bookkeeping stays private."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    order = serializers.UUIDField(source="order_id", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "order", "amount", "status", "kind", "transaction_id", "failure_reason", "created_at",
                  "updated_at"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending → processing → succeeded | failed | needs_review. A partial refund of a "
                "sale that has not settled yet stays pending until it settles."
            },
            "kind": {"help_text": "refund (a credit of a settled sale) or void (the unsettled sale cancelled); "
                     "blank until decided."},
            "transaction_id": {"help_text": "The credit's Braintree id (a void: the sale's id)."},
        }

