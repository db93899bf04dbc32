"""Django admin for orders and their event log.

An order's page is a record, not a form: every column is a payment fact or the delivery's
bookkeeping, written by the services, so nothing on it is editable and it has no Save button.
Changes go through the actions (re-verify, re-queue, refund), which call services and report a
refused transition as a message; an action records its admin user on the events it appends and
in Django's admin log. The page groups the fields (summary, gateway, refunds and disputes, and the
delivery internals folded away, each explained).
"""

from django.contrib import admin, messages
from django.utils.safestring import mark_safe

from payments.core.display import COPY_ID_SCRIPT, compact_datetime, short_id_with_copy, status_badge
from payments.core.exceptions import GatewayError, IllegalTransition
from payments.models import Order, OrderEvent
from payments.orders.services import order_requeue, order_reverify


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "from_status", "to_status", "outcome", "transaction_id", "actor", "detail")
    readonly_fields = fields

    @admin.display(description="at", ordering="created_at")
    def at(self, event):
        return compact_datetime(event.created_at)
    ordering = ("id",)

    def has_view_permission(self, request, obj=None):
        # The event log is part of the order's record: whoever may see the order sees it.
        return request.user.has_perm("payments.view_order") or super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderAdmin(admin.ModelAdmin):
    """The order page's own part; payments/admin.py registers it with the refunds beside it."""

    # Trimmed to fit 1400 px: an 8-character id (copy for the whole), a badge, money in one cell.
    list_display = ("short_id", "status_badge", "money", "owner", "short_transaction_id", "created")

    class Media:
        js = (COPY_ID_SCRIPT,)
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
    fieldsets = (
        (None, {"fields": (
            ("id", "status_badge"), ("money", "owner"), "description", "failure_reason", "status_detail",
            ("created_at", "updated_at"),
        )}),
        ("Gateway", {"fields": (
            ("transaction_id", "gateway_status"), ("processor_response_code", "processor_response_text"),
            ("gateway_rejection_reason", "error_codes"), ("merchant_account_id", "last_sale_outcome"),
        )}),
        ("Capture", {"fields": (
            ("capture", "authorization_decision"), ("authorized_amount", "captured_amount", "decision_amount"),
            ("authorization_expires_at", "decision_idempotency_key"),
        )}),
        ("Refunds and disputes", {"fields": (
            ("refunded_amount", "settlement_checked_at"), ("dispute_status", "dispute_amount", "dispute_reason"),
            ("dispute_id", "dispute_updated_at"),
        )}),
        ("Delivery internals", {
            "classes": ("collapse",),
            "description": mark_safe(  # a constant: no value of a row goes in
                "<ul style='margin:0 0 8px 16px'>"
                "<li><b>claims</b>: how often a worker took the order for a charge (past PAYMENTS_MAX_CLAIMS it is parked).</li>"
                "<li><b>sale attempt</b>: which sale the next call is; it names the api_request_key and moves on only "
                "after a definite processor failure (3000).</li>"
                "<li><b>lease expires at</b>: until when the current claim holds; another worker may claim after it.</li>"
                "<li><b>ever claimed</b>: a worker took it once, so the next claim searches the gateway before selling.</li>"
                "<li><b>idempotency key</b> and <b>request fingerprint</b>: the client's Idempotency-Key and the hash "
                "of the body it came with (a replay must match it).</li></ul>"
            ),
            "fields": (("claims", "sale_attempt"), ("lease_expires_at", "ever_claimed"),
                       "idempotency_key", "request_fingerprint"),
        }),
    )

    def get_readonly_fields(self, request, obj=None):
        # Every column, derived from the model so that a column added later for the workers is
        # read-only from the start, and the composed displays of the fieldsets.
        columns = [field.name for field in Order._meta.concrete_fields if field.name not in self.exclude]
        return [*columns, "status_badge", "money"]

    def has_change_permission(self, request, obj=None):
        # The page of one order is read-only (no form, no Save button); the actions on the list,
        # which need the change permission, still ask Django's own answer.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or super().has_change_permission(request, obj)

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

    def save_model(self, request, obj, form, change):
        """Never write a row from a form: every column belongs to the services."""
        raise PermissionError("Orders change through their actions only.")

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
