"""Django admin for orders and their event log.

Money, status and gateway fields are read-only: every state change goes through a service, so
the actions below call services and report refused transitions as messages. An action records
its admin user on the events it appends and in Django's admin log; saving the change form writes
the editable field (description) only, never a full row over what a worker wrote meanwhile.
"""

from django.contrib import admin, messages

from payments.core.display import compact_datetime, short_id_with_copy, status_badge
from payments.core.exceptions import GatewayError, IllegalTransition
from payments.models import Order, OrderEvent
from payments.orders.services import order_requeue, order_reverify


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = (
        "created_at", "action", "from_status", "to_status", "outcome", "transaction_id", "actor", "detail"
    )
    readonly_fields = fields
    ordering = ("id",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderAdmin(admin.ModelAdmin):
    """The order page's own part; payments/admin.py registers it with the refunds beside it."""

    # Trimmed to fit 1400 px: an 8-character id (copy for the whole), a badge, money in one cell.
    list_display = ("short_id", "status_badge", "money", "owner", "short_transaction_id", "created")
    list_display_links = ("short_id",)
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=transaction_id", "owner__username")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (OrderEventInline,)
    actions = ("reverify_with_gateway", "requeue")
    # The nonce is a spent or spendable credential: never shown, never editable.
    exclude = ("payment_method_nonce",)
    def get_readonly_fields(self, request, obj=None):
        # Everything but the editable fields, derived from the model so that a column added
        # later for the workers is read-only from the start.
        return [
            field.name
            for field in Order._meta.concrete_fields
            if field.name not in self.editable_fields and field.name not in self.exclude
        ]

    @admin.display(description="id", ordering="id")
    def short_id(self, order):
        return short_id_with_copy(order.pk)

    @admin.display(description="status", ordering="status")
    def status_badge(self, order):
        return status_badge(order.status)

    @admin.display(description="amount", ordering="amount")
    def money(self, order):
        return f"{order.amount} {order.currency}"

    @admin.display(description="transaction", ordering="transaction_id")
    def short_transaction_id(self, order):
        return order.transaction_id or "-"

    @admin.display(description="created", ordering="created_at")
    def created(self, order):
        return compact_datetime(order.created_at)

    def has_add_permission(self, request):
        # Orders enter through the API, which validates them and dispatches the charge.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The only fields a person may change; every other column belongs to the services.
    editable_fields = ("description",)

    def save_model(self, request, obj, form, change):
        """Write the editable fields only: the form's instance was read before the POST's save,
        and a full-row save would write back the status and gateway fields as they were then,
        undoing a worker's transition with no event."""
        if not change:
            raise PermissionError("Orders are created through the API only.")
        obj.save(update_fields=[name for name in self.editable_fields if name in form.changed_data])

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
                order = service(order_id=order_id, actor=request.user)
            except IllegalTransition as exc:
                self.message_user(request, exc.message, messages.WARNING)
            except GatewayError as exc:
                self.message_user(request, f"Order {order_id}: gateway error, try again later ({exc}).", messages.ERROR)
            else:
                self.message_user(request, f"Order {order_id} {done}: now {order.status}.", messages.SUCCESS)
                # Django's admin log too, where admins look for who changed what.
                self.log_change(request, order, f"{done.capitalize()}: now {order.status}.")


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "order", "action", "from_status", "to_status", "outcome", "transaction_id", "actor")
    list_filter = ("action", "outcome")
    search_fields = ("=order__id", "=transaction_id")
    list_select_related = ("order",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
