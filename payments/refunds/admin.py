"""Refunds in the admin: a "Refund in full" action through the refund service, refund rows read-only."""

from django.contrib import admin, messages

from payments.core.display import ReadOnlyAdmin
from payments.core.exceptions import PaymentsError
from payments.models import Refund
from payments.refunds.services import refund_create


def refund_in_full(modeladmin, request, queryset):
    """Refund what is left of each selected order, through the same service as the API."""
    for order_id in queryset.values_list("pk", flat=True):
        try:
            result = refund_create(order_id=order_id)
        except PaymentsError as exc:
            modeladmin.message_user(request, f"Order {order_id}: {exc.message}", messages.WARNING)
        else:
            modeladmin.message_user(
                request, f"Order {order_id}: refund of {result.refund.amount} queued ({result.refund.pk}).",
                messages.SUCCESS,
            )


refund_in_full.short_description = "Refund in full (what is left)"
refund_in_full.allowed_permissions = ("change",)


class RefundInline(admin.TabularInline):
    """An order's refunds, on the order page."""

    model = Refund
    extra = 0
    can_delete = False
    fields = ("id", "amount", "status", "kind", "transaction_id", "failure_reason", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "amount", "status", "kind", "transaction_id", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("=id", "=order__id", "=transaction_id")
