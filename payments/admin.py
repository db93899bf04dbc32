"""The admin site: each capability registers its own models; the order page is composed here.

An order's page carries its refunds (inline, and the "Refund in full" action) beside its own
fields and events, and filters by dispute status, so the composition lives above both capabilities.
"""

from django.contrib import admin

from payments.models import Order
from payments.orders.admin import OrderAdmin
from payments.refunds.admin import RefundInline, refund_in_full
from payments.webhooks.admin import WebhookNotificationAdmin


@admin.register(Order)
class OrderPageAdmin(OrderAdmin):
    inlines = (*OrderAdmin.inlines, RefundInline)
    actions = (*OrderAdmin.actions, refund_in_full)
    # The after-sale columns are read-only like every worker-written column (OrderAdmin derives
    # them from the model); the changelist keeps its six columns and filters disputes instead.
    list_filter = (*OrderAdmin.list_filter, "dispute_status")


# Imported for their registrations: each capability's admin registers its own models.
__all__ = ["OrderPageAdmin", "WebhookNotificationAdmin"]
