"""Django admin for orders and their event log.

An order's page is a record, not a form: every column is a payment fact or the delivery's
bookkeeping, written by the services, so nothing on it is editable and it has no Save button.
Changes go through the actions (re-verify, re-queue, refund; capture and cancel of an authorized
manual order), which call services and report a refused transition as a message; an action
records its admin user on the events it appends and in Django's admin log. The page groups the
fields (summary, gateway, capture, refunds and disputes, and the delivery internals folded away,
each explained).
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from payments.core.display import COPY_ID_SCRIPT, compact_datetime, short_id_with_copy, status_badge
from payments.core.exceptions import GatewayError, IllegalTransition, PaymentsError
from payments.core.lifecycle import acting_as
from payments.core.statuses import OrderStatus
from payments.models import AuthorizationDecision, CaptureMode, Order, OrderEvent
from payments.orders.services import order_cancel_request, order_capture_request, order_requeue, order_reverify


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
            ("id", "status_badge"), ("money", "owner"), "description", "payment_method", "failure_reason",
            "status_detail", ("created_at", "updated_at"),
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

    def get_urls(self):
        # The order page's "Capture…" and "Cancel authorization…" buttons (change_form.html).
        decisions = [
            path(
                f"<uuid:object_id>/{decision}/",
                self.admin_site.admin_view(self.decision_view),
                {"decision": decision},
                name=f"payments_order_{decision}",
            )
            for decision in AuthorizationDecision.values
        ]
        return [*decisions, *super().get_urls()]

    def decision_view(self, request, object_id, decision):
        order = self.get_object(request, str(object_id))
        if order is None:
            raise Http404("No such order.")
        return order_decision_view(self, request, order, AuthorizationDecision(decision))

    def has_capture_permission(self, request):
        """Whether the user may capture or cancel an authorization; payments/admin.py answers it."""
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "may_capture": self.has_capture_permission(request),
            "awaits_decision": order is not None and order_awaits_decision(order),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_fieldsets(self, request, obj=None):
        # The capture fields say something only on an order that authorizes first.
        if obj is not None and obj.capture == CaptureMode.MANUAL:
            return self.fieldsets
        return tuple(fieldset for fieldset in self.fieldsets if fieldset[0] != "Capture")

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


def order_awaits_decision(order):
    """An authorized manual order nobody asked to capture or cancel yet: the page offers both."""
    return (
        order.capture == CaptureMode.MANUAL
        and order.status == OrderStatus.AUTHORIZED
        and not order.authorization_decision
    )


class OrderDecisionForm(forms.Form):
    """The order page's capture (how much) or cancel, with a key that makes a second submit harmless."""

    amount = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
        help_text="Leave blank to capture the whole authorization.",
    )
    # Drawn when the form is shown: a double click, a reload or a retried POST of this form asks
    # for the same capture or cancel again, and the service answers with the first one.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, decision, **kwargs):
        super().__init__(*args, **kwargs)
        if decision != AuthorizationDecision.CAPTURE:
            del self.fields["amount"]


def order_decision_view(modeladmin, request, order, decision):
    """GET: the capture or cancel form of `order`; POST: ask the service the API asks, then back.

    order_capture_request / order_cancel_request decide under the order's row lock, so an admin's
    capture and an API cancel (or two admins) race like two API requests: the first wins.
    """
    if not modeladmin.has_capture_permission(request):
        raise PermissionDenied
    verb = "capture" if decision == AuthorizationDecision.CAPTURE else "cancel"
    if request.method == "POST":
        form = OrderDecisionForm(request.POST, decision=decision)
        if form.is_valid():
            key = f"admin:{form.cleaned_data['idempotency_key']}"
            try:
                with acting_as(request.user):
                    if decision == AuthorizationDecision.CAPTURE:
                        result = order_capture_request(
                            order_id=order.pk, amount=form.cleaned_data["amount"], idempotency_key=key
                        )
                    else:
                        result = order_cancel_request(order_id=order.pk, idempotency_key=key)
            except PaymentsError as exc:
                form.add_error(None, exc.message)
            else:
                asked = result.order
                queued = (
                    f"capture of {asked.decision_amount} {order.currency} queued"
                    if decision == AuthorizationDecision.CAPTURE
                    else "cancel queued (the authorization will be voided)"
                )
                if result.created:
                    modeladmin.log_change(request, order, f"{verb.capitalize()}: {queued}.")
                    modeladmin.message_user(request, f"Order {str(order.pk)[:8]}: {queued}.", messages.SUCCESS)
                else:
                    modeladmin.message_user(
                        request, f"This {verb} was already asked for; nothing new was queued.", messages.INFO
                    )
                return redirect(reverse("admin:payments_order_change", args=[order.pk]))
    else:
        form = OrderDecisionForm(initial={"idempotency_key": uuid.uuid4().hex}, decision=decision)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{verb.capitalize()} order {str(order.pk)[:8]}",
        "opts": modeladmin.model._meta,
        "original": order,
        "form": form,
        "verb": verb,
        "open": order_awaits_decision(order),
    }
    return TemplateResponse(request, "admin/payments/order/decision.html", context)


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
