"""How the admin shows orders: coloured status badges, short ids with a copy button, compact dates.

Inline styles on purpose: no static files to collect or template to override, and the admin's
light and dark themes both read these colours.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from payments.core.statuses import OrderStatus

BADGE_COLOURS = {
    OrderStatus.PENDING: "#6c757d",
    OrderStatus.PROCESSING: "#0d6efd",
    OrderStatus.PAID: "#198754",
    OrderStatus.FAILED: "#dc3545",
    OrderStatus.NEEDS_REVIEW: "#fd7e14",
}

SHORT_ID_LENGTH = 8

# The click must not follow the row's change link around the button.
COPY_SCRIPT = (
    "event.preventDefault();event.stopPropagation();"
    "navigator.clipboard&&navigator.clipboard.writeText(this.dataset.copy);"
    "this.textContent='copied';setTimeout(()=>{this.textContent='copy'},1200);"
)


def status_badge(status):
    """A pill in the status's colour, labelled with its display name."""
    label = OrderStatus(status).label if status in OrderStatus.values else status
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
        '<button type="button" class="copy-id" data-copy="{}" onclick="{}" title="Copy the full id" '
        'style="margin-left:4px;padding:0 4px;font-size:10px;cursor:pointer">copy</button>',
        text,
        text[:SHORT_ID_LENGTH],
        text,
        COPY_SCRIPT,
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
