"""Wire formats of the refund API, and the after-sale fields of an order."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from payments.core.statuses import RefundKind
from payments.http.serializers import ClassCachedFieldsMixin, MoneyField, OptionalChoiceField, UnknownFieldsMixin
from payments.models import Refund


class RefundCreateInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/orders/<id>/refunds/` (an empty body refunds everything not yet refunded)."""

    amount = MoneyField(
        required=False,
        help_text='Amount to refund, a string with at most two decimals, e.g. "5.00". Absent: the '
        "whole remainder (the order's amount less every refund that has not failed).",
    )


# The schema (and a generated client) calls it "Refund".
@extend_schema_serializer(component_name="Refund")
class RefundOutputSerializer(ClassCachedFieldsMixin, serializers.ModelSerializer):
    """A refund as API clients see it; its delivery bookkeeping stays private."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    order = serializers.UUIDField(source="order_id", read_only=True)
    currency = serializers.CharField(source="order.currency", read_only=True, help_text="The order's currency.")
    kind = OptionalChoiceField(
        choices=RefundKind.choices,
        help_text="refund (a credit of a settled sale) or void (the unsettled sale cancelled); null until "
        "a worker decided.",
    )
    failure_reason = serializers.CharField(
        read_only=True,
        help_text="Why the refund failed or was parked for review. Blank unless something failed: a "
        "refund that is only waiting says why in `status_detail`.",
    )
    status_detail = serializers.CharField(
        read_only=True,
        help_text="Why a pending or processing refund is still waiting, e.g. for its sale to settle "
        "(blank when there is nothing to say, and once the refund ends).",
    )

    class Meta:
        model = Refund
        fields = ["id", "order", "amount", "currency", "status", "kind", "transaction_id", "failure_reason",
                  "status_detail", "created_at", "updated_at"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending → processing → succeeded | failed | needs_review. A partial refund of a "
                "sale that has not settled yet stays pending until it settles."
            },
            "transaction_id": {"help_text": "The credit's Braintree id (a void: the sale's id)."},
        }

