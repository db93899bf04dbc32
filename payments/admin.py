"""Django admin for orders and their event log.

Money, status and gateway fields are read-only: every state change goes through a service, so
the actions below call services and report refused transitions as messages.
"""

from django.contrib import admin, messages

from payments.exceptions import GatewayError, IllegalTransition
from payments.models import Order, OrderEvent, Refund, WebhookNotification
from payments.services import order_requeue, order_reverify


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "outcome", "transaction_id", "detail")
    readonly_fields = fields
    ordering = ("id",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "amount", "currency", "status", "transaction_id", "gateway_status", "created_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=transaction_id", "owner__username")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (OrderEventInline,)
    actions = ("reverify_with_gateway", "requeue")
    # After the sale: see payments/admin_refunds.py (refund action, refunds inline).
    # The nonce is a spent or spendable credential: never shown, never editable.
    exclude = ("payment_method_nonce",)
    readonly_fields = (
        "id",
        "owner",
        "amount",
        "currency",
        "status",
        "transaction_id",
        "gateway_status",
        "processor_response_code",
        "processor_response_text",
        "error_codes",
        "failure_reason",
        "claims",
        "sale_attempt",
        "lease_expires_at",
        "ever_claimed",
        "last_sale_outcome",
        "idempotency_key",
        "request_fingerprint",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        # Orders enter through the API, which validates them and dispatches the charge.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Re-verify with gateway", permissions=["change"])
    def reverify_with_gateway(self, request, queryset):
        self._apply_to_each(request, queryset, order_reverify, "re-verified")

    @admin.action(description="Re-queue", permissions=["change"])
    def requeue(self, request, queryset):
        self._apply_to_each(request, queryset, order_requeue, "re-queued")

    def _apply_to_each(self, request, queryset, service, done):
        """Run `service` per order; a refused order becomes a message, never an error page."""
        for order_id in queryset.values_list("pk", flat=True):
            try:
                order = service(order_id=order_id)
            except IllegalTransition as exc:
                self.message_user(request, exc.message, messages.WARNING)
            except GatewayError as exc:
                self.message_user(request, f"Order {order_id}: gateway error, try again later ({exc}).", messages.ERROR)
            else:
                self.message_user(request, f"Order {order_id} {done}: now {order.status}.", messages.SUCCESS)


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "order", "action", "from_status", "to_status", "outcome", "transaction_id")
    list_filter = ("action", "outcome")
    search_fields = ("=order__id", "=transaction_id")
    list_select_related = ("order",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# After the sale (additive): the refund action, refunds inline, dispute fields, webhook rows.
from payments.admin_refunds import register_after_sale  # noqa: E402

register_after_sale(OrderAdmin, admin.site, Refund, WebhookNotification)
