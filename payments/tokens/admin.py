"""API tokens in the admin: who holds one, since when, until when; revoking is deleting.

Replaces django-rest-knox's own page, which lists digests and shows a new key in a message: here no
key or key prefix is ever on a page (a row's address is its SHA-512 digest, which cannot be turned
back into the key), and tokens are issued only by `manage.py rotate_api_token`, which prints the
key once to the operator's terminal.
"""

import knox.admin  # noqa: F401 - knox registers its page on import; it must exist before it is replaced
from django.contrib import admin
from django.utils import timezone
from knox.models import AuthToken

admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expiry", "live")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    ordering = ("-created",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields

    @admin.display(boolean=True, description="live")
    def live(self, token):
        return token.expiry is None or token.expiry > timezone.now()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
