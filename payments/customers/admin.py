"""Customers and their saved payment methods in the admin: read-only, masked, with the orders on each.

Only services write these rows; the gateway token and the nonce are never shown (the token is
derived from the method's id, and a nonce is cleared as soon as the store is decided).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from payments.core.display import ReadOnlyAdmin
from payments.models import Customer, PaymentMethod


class PaymentMethodInline(admin.TabularInline):
    """A customer's saved cards, masked, on the customer page."""

    model = PaymentMethod
    extra = 0
    can_delete = False
    fields = ("masked_card", "status", "is_default", "failure_reason", "created_at", "deleted_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Card")
    def masked_card(self, method):
        return masked(method)


def masked(method):
    """`Visa •••• 1111 (12/2030)`, or a dash before the card is stored."""
    if not method.last_4:
        return "—"
    return f"{method.card_type} •••• {method.last_4} ({method.expiration_month}/{method.expiration_year})"


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "email", "reference", "created_at")
    search_fields = ("id", "email", "reference")
    fields = ("id", "owner", "email", "reference", "gateway_customer_created", "created_at")
    readonly_fields = fields
    inlines = (PaymentMethodInline,)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "masked_card", "status", "is_default", "created_at")
    list_filter = ("status",)
    search_fields = ("id", "customer__id", "last_4")
    fields = (
        "id", "customer", "masked_card", "status", "is_default", "failure_reason", "error_codes",
        "store_attempts", "created_at", "updated_at", "deleted_at", "gateway_deleted_at", "orders_charged",
    )
    readonly_fields = fields

    @admin.display(description="Card")
    def masked_card(self, method):
        return masked(method)

    @admin.display(description="Orders charged on it")
    def orders_charged(self, method):
        orders = method.orders.order_by("-created_at")[:50]
        if not orders:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> {} {} ({})',
            ((reverse("admin:payments_order_change", args=[o.pk]), o.pk, o.amount, o.currency, o.status) for o in orders),
        )
