from django.urls import path

from payments.customers.api import CustomerDetailApi, CustomerListCreateApi, PaymentMethodDetailApi, PaymentMethodListCreateApi
from payments.ops import views as ops_views
from payments.ops.health import HealthApi
from payments.orders.api import OrderCancelApi, OrderCaptureApi, OrderDetailApi, OrderListCreateApi
from payments.refunds.api import RefundDetailApi, RefundListCreateApi
from payments.webhooks.api import BraintreeWebhookApi

app_name = "payments"


def with_and_without_slash(route, view, name):
    """The route, and the same view without the trailing slash.

    A client that builds `POST /api/orders` would otherwise meet Django's APPEND_SLASH: a
    redirect that turns the POST into a GET, or (with DEBUG) an error. Both spellings answer the
    same; the schema, `Location` and `reverse()` use the canonical one with the slash
    (payments/http/openapi.py leaves the twin out of the schema).
    """
    return [path(route, view, name=name), path(route.removesuffix("/"), view, name=f"{name}-no-slash")]


urlpatterns = [
    *with_and_without_slash("api/orders/", OrderListCreateApi.as_view(), "order-list"),
    *with_and_without_slash("api/orders/<uuid:order_id>/", OrderDetailApi.as_view(), "order-detail"),
    *with_and_without_slash("api/orders/<uuid:order_id>/capture/", OrderCaptureApi.as_view(), "order-capture"),
    *with_and_without_slash("api/orders/<uuid:order_id>/cancel/", OrderCancelApi.as_view(), "order-cancel"),
    *with_and_without_slash("api/orders/<uuid:order_id>/refunds/", RefundListCreateApi.as_view(), "refund-list"),
    *with_and_without_slash(
        "api/orders/<uuid:order_id>/refunds/<uuid:refund_id>/", RefundDetailApi.as_view(), "refund-detail"
    ),
    *with_and_without_slash("api/customers/", CustomerListCreateApi.as_view(), "customer-list"),
    *with_and_without_slash("api/customers/<uuid:customer_id>/", CustomerDetailApi.as_view(), "customer-detail"),
    *with_and_without_slash(
        "api/customers/<uuid:customer_id>/payment-methods/", PaymentMethodListCreateApi.as_view(), "payment-method-list"
    ),
    *with_and_without_slash(
        "api/customers/<uuid:customer_id>/payment-methods/<uuid:payment_method_id>/",
        PaymentMethodDetailApi.as_view(),
        "payment-method-detail",
    ),
    *with_and_without_slash("webhooks/braintree/", BraintreeWebhookApi.as_view(), "webhook-braintree"),
    path("healthz", HealthApi.as_view(), name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("", ops_views.dashboard, name="dashboard"),
    path("ops/dashboard.json", ops_views.dashboard_data, name="dashboard-data"),
]
