"""How the admin shows orders: coloured status badges, short ids with a copy button, compact dates.

Inline styles on purpose: no template to override, and the admin's light and dark themes both
read these colours. The copy button's click is payments/static/payments/admin/copy-id.js (the
admin pages that show it list it in their Media): the Content-Security-Policy runs no inline handler.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from payments.core.statuses import OrderStatus, RefundStatus

BADGE_COLOURS = {
    OrderStatus.PENDING: "#6c757d",
    OrderStatus.PROCESSING: "#0d6efd",
    OrderStatus.PAID: "#198754",
    OrderStatus.FAILED: "#dc3545",
    OrderStatus.NEEDS_REVIEW: "#fd7e14",
    OrderStatus.PARTIALLY_REFUNDED: "#6f42c1",
    OrderStatus.REFUNDED: "#6f42c1",
    OrderStatus.SETTLEMENT_DECLINED: "#dc3545",
    OrderStatus.AUTHORIZED: "#0e8a99",
    OrderStatus.CANCELED: "#6c757d",
    OrderStatus.AUTHORIZATION_EXPIRED: "#6c757d",
    # A refund's own statuses (pending, processing, failed and needs_review share the order's).
    RefundStatus.SUCCEEDED: "#198754",
}

SHORT_ID_LENGTH = 8

# What an admin page showing short_id_with_copy lists in its Media.
COPY_ID_SCRIPT = "payments/admin/copy-id.js"


def status_badge(status):
    """A pill in the status's colour (an order's or a refund's), labelled with its display name."""
    if status in OrderStatus.values:
        label = OrderStatus(status).label
    elif status in RefundStatus.values:
        label = RefundStatus(status).label
    else:
        label = status
    return format_html(
        '<span class="order-status order-status-{}" style="display:inline-block;padding:1px 8px;'
        "border-radius:10px;color:#fff;background:{};font-size:11px;font-weight:600;"
        'white-space:nowrap">{}</span>',
        status,
        BADGE_COLOURS.get(status, "#6c757d"),
        label,
    )


def short_id_with_copy(value):
    """The first characters of an id, the whole id in a tooltip and a button that copies it."""
    text = str(value)
    return format_html(
        '<code title="{}" style="white-space:nowrap">{}</code>'
        '<button type="button" class="copy-id" data-copy="{}" title="Copy the full id" '
        'style="margin-left:4px;padding:0 4px;font-size:10px;cursor:pointer">copy</button>',
        text,
        text[:SHORT_ID_LENGTH],
        text,
    )


def compact_datetime(value):
    """`2026-01-01 12:00:05` in the current time zone, never wrapped."""
    if value is None:
        return "-"
    return format_html('<span style="white-space:nowrap">{}</span>', timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S"))


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin for rows that only services write: listed and shown, never added, changed or deleted."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
