"""The admin site: each capability registers its own models; the order page is composed here.

An order's page carries its refunds (inline, and the "Refund in full" action) beside its own
fields and events, and filters by dispute status, so the composition lives above both capabilities.
"""

from django.contrib import admin
from django.http import Http404
from django.urls import path

from payments.core.statuses import REFUNDABLE_ORDER_STATUSES
from payments.models import Order
from payments.orders.admin import OrderAdmin
from payments.refunds.admin import RefundInline, may_refund, order_refund_view, refund_in_full
from payments.customers.admin import CustomerAdmin, PaymentMethodAdmin
from payments.tokens.admin import ApiTokenAdmin
from payments.webhooks.admin import WebhookNotificationAdmin


@admin.register(Order)
class OrderPageAdmin(OrderAdmin):
    inlines = (*OrderAdmin.inlines, RefundInline)
    actions = (*OrderAdmin.actions, refund_in_full)
    # The after-sale columns are read-only like every worker-written column (OrderAdmin derives
    # them from the model); the changelist keeps its six columns and filters disputes instead.
    list_filter = (*OrderAdmin.list_filter, "dispute_status")

    def get_urls(self):
        # The order page's "Refund…" button (templates/admin/payments/order/change_form.html).
        refund = path(
            "<uuid:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="payments_order_refund",
        )
        return [refund, *super().get_urls()]

    def refund_view(self, request, object_id):
        order = self.get_object(request, str(object_id))
        if order is None:
            raise Http404("No such order.")
        return order_refund_view(self, request, order)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_refund": may_refund(request.user),
                         "refundable_statuses": sorted(REFUNDABLE_ORDER_STATUSES)}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_refund_permission(self, request):
        """The "refund" named by the refund action's allowed_permissions: `payments.refund_order`."""
        return may_refund(request.user)

    def has_capture_permission(self, request):
        """Capturing or canceling an authorization moves money as a refund does: `payments.refund_order`."""
        return may_refund(request.user)


# Imported for their registrations: each capability's admin registers its own models.
__all__ = ["ApiTokenAdmin", "CustomerAdmin", "OrderPageAdmin", "PaymentMethodAdmin", "WebhookNotificationAdmin"]
