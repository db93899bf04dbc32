"""Refunds in the admin: a "Refund in full" action through the refund service, refund rows read-only.

Refunding moves money back, so it is its own permission (`payments.refund_order`), not
`change_order`; the order page's admin answers it with `has_refund_permission` (payments/admin.py).
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from django.utils.html import format_html

from payments.core.display import SHORT_ID_LENGTH, ReadOnlyAdmin, compact_datetime, short_id_with_copy, status_badge
from payments.core.exceptions import PaymentsError
from payments.core.lifecycle import acting_as
from payments.models import Refund
from payments.core.statuses import REFUNDABLE_ORDER_STATUSES
from payments.refunds.services import order_refundable_amount, refund_create, refund_reserved_total

REFUND_PERMISSION = "payments.refund_order"


def may_refund(user):
    """Whether `user` may refund orders from the admin (superusers hold every permission)."""
    return user.has_perm(REFUND_PERMISSION)


def refund_in_full(modeladmin, request, queryset):
    """Refund what is left of each selected order, through the same service as the API.

    Runs as the acting admin: the refund's event names them, and Django's admin log records it.
    """
    for order in queryset:
        try:
            with acting_as(request.user):
                result = refund_create(order_id=order.pk)
        except PaymentsError as exc:
            modeladmin.message_user(request, f"Order {order.pk}: {exc.message}", messages.WARNING)
        else:
            queued = f"refund of {result.refund.amount} queued ({result.refund.pk})."
            modeladmin.message_user(request, f"Order {order.pk}: {queued}", messages.SUCCESS)
            modeladmin.log_change(request, order, f"Refund in full: {queued}")


refund_in_full.short_description = "Refund in full (what is left)"
refund_in_full.allowed_permissions = ("refund",)


class RefundInline(admin.TabularInline):
    """An order's refunds, on the order page."""

    model = Refund
    extra = 0
    can_delete = False
    fields = ("short_id", "money", "status", "kind", "transaction_id", "failure_reason", "status_detail",
              "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="id")
    def short_id(self, refund):
        return short_id_with_copy(refund.pk)

    @admin.display(description="amount")
    def money(self, refund):
        return f"{refund.amount} {refund.order.currency}"

    def has_view_permission(self, request, obj=None):
        # An order's refunds are part of its record: whoever may see the order sees them.
        return request.user.has_perm("payments.view_order") or super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    # Short ids (the whole one in a tooltip and a copy button) and money with its currency, so
    # the list fits the admin's width without overflowing.
    list_display = ("short_id", "order_link", "money", "status_badge", "kind", "transaction_id", "created")
    list_display_links = ("short_id",)
    list_filter = ("status", "kind")
    search_fields = ("=id", "=order__id", "=transaction_id")
    list_select_related = ("order",)
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": (("short_id", "order_link"), ("money", "status_badge", "kind"), "failure_reason",
                           "status_detail", ("created_at", "updated_at"))}),
        ("Gateway", {"fields": (("transaction_id", "gateway_status"), "error_codes")}),
        ("Delivery internals", {
            "classes": ("collapse",),
            "description": "claims: how often a worker took the refund; lease expires at: until when that claim "
            "holds; ever sent: a worker may have written to the gateway, so the next one looks first; "
            "idempotency key: the client's (or the admin form's) key.",
            "fields": (("claims", "lease_expires_at", "ever_sent"), "idempotency_key"),
        }),
    )
    readonly_fields = ("short_id", "order_link", "money", "status_badge", "created")

    @admin.display(description="id", ordering="id")
    def short_id(self, refund):
        return short_id_with_copy(refund.pk)

    @admin.display(description="order", ordering="order_id")
    def order_link(self, refund):
        url = reverse("admin:payments_order_change", args=[refund.order_id])
        return format_html('<a href="{}"><code>{}</code></a>', url, str(refund.order_id)[:SHORT_ID_LENGTH])

    @admin.display(description="amount", ordering="amount")
    def money(self, refund):
        return format_html('<span style="white-space:nowrap">{} {}</span>', refund.amount, refund.order.currency)

    @admin.display(description="status", ordering="status")
    def status_badge(self, refund):
        return status_badge(refund.status)

    @admin.display(description="created", ordering="created_at")
    def created(self, refund):
        return compact_datetime(refund.created_at)


class OrderRefundForm(forms.Form):
    """The order page's refund: how much, why, and a key that makes a second submit harmless."""

    amount = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
        help_text="Leave blank to refund everything not yet refunded.",
    )
    reason = forms.CharField(
        max_length=200, help_text="Why the money goes back; kept on the refund's event and in the admin log."
    )
    # Drawn when the form is shown: a double click, a reload or a retried POST of this form asks
    # for the same refund again, and the service answers with the first one.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


def order_refund_view(modeladmin, request, order):
    """GET: the refund form of `order`; POST: ask the refund service, then back to the order page."""
    if not may_refund(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = OrderRefundForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with acting_as(request.user):
                    result = refund_create(
                        order_id=order.pk, amount=data["amount"], reason=data["reason"],
                        idempotency_key=f"admin:{data['idempotency_key']}",
                    )
            except PaymentsError as exc:
                form.add_error(None, exc.message)
            else:
                refund = result.refund
                queued = f"refund of {refund.amount} {order.currency} queued ({str(refund.pk)[:8]}): {data['reason']}"
                if result.created:
                    modeladmin.log_change(request, order, f"Refund: {queued}")
                    modeladmin.message_user(request, f"Order {str(order.pk)[:8]}: {queued}", messages.SUCCESS)
                else:
                    modeladmin.message_user(
                        request, f"This refund was already asked for ({str(refund.pk)[:8]}); nothing new was queued.",
                        messages.INFO,
                    )
                return redirect(reverse("admin:payments_order_change", args=[order.pk]))
    else:
        form = OrderRefundForm(initial={"idempotency_key": uuid.uuid4().hex})
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Refund order {str(order.pk)[:8]}",
        "opts": modeladmin.model._meta,
        "original": order,
        "form": form,
        "remainder": order_refundable_amount(order) - refund_reserved_total(order),
        "refundable": order.status in REFUNDABLE_ORDER_STATUSES,
    }
    return TemplateResponse(request, "admin/payments/order/refund.html", context)
