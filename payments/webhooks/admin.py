"""Stored webhook notifications in the admin, read-only."""

from django.contrib import admin

from payments.core.display import ReadOnlyAdmin
from payments.models import WebhookNotification


@admin.register(WebhookNotification)
class WebhookNotificationAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "kind", "subject_id", "timestamp", "state", "deliveries")
    list_filter = ("kind", "state")
    search_fields = ("=subject_id",)
