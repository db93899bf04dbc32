"""Admin after the sale: a "Refund in full" action through the refund service, refunds and webhooks read-only."""

from django.contrib import admin, messages

from payments.exceptions import PaymentsError
from payments.services.refunds import refund_create


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


def register_after_sale(order_admin, site, refund_model, webhook_model):
    """Extend the order admin and register the after-sale models (called from payments/admin.py)."""

    class RefundInline(admin.TabularInline):
        model = refund_model
        extra = 0
        can_delete = False
        fields = ("id", "amount", "status", "kind", "transaction_id", "failure_reason", "created_at", "updated_at")
        readonly_fields = fields

        def has_add_permission(self, request, obj=None):
            return False

        def has_change_permission(self, request, obj=None):
            return False

    order_admin.inlines = (*order_admin.inlines, RefundInline)
    order_admin.actions = (*order_admin.actions, refund_in_full)
    # The after-sale columns are read-only like every worker-written column (OrderAdmin derives
    # them from the model); the changelist keeps its six columns and filters disputes instead.
    order_admin.list_filter = (*order_admin.list_filter, "dispute_status")

    @admin.register(refund_model, site=site)
    class RefundAdmin(ReadOnlyAdmin):
        list_display = ("id", "order", "amount", "status", "kind", "transaction_id", "created_at")
        list_filter = ("status", "kind")
        search_fields = ("=id", "=order__id", "=transaction_id")

    @admin.register(webhook_model, site=site)
    class WebhookNotificationAdmin(ReadOnlyAdmin):
        list_display = ("received_at", "kind", "subject_id", "timestamp", "state", "deliveries")
        list_filter = ("kind", "state")
        search_fields = ("=subject_id",)
