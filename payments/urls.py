from django.urls import path

from payments.ops import views as ops_views
from payments.ops.health import HealthApi
from payments.orders.api import OrderDetailApi, OrderListCreateApi
from payments.refunds.api import RefundDetailApi, RefundListCreateApi
from payments.webhooks.api import BraintreeWebhookApi

app_name = "payments"

urlpatterns = [
    path("api/orders/", OrderListCreateApi.as_view(), name="order-list"),
    path("api/orders/<uuid:order_id>/", OrderDetailApi.as_view(), name="order-detail"),
    path("healthz", HealthApi.as_view(), name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("", ops_views.dashboard, name="dashboard"),
    path("ops/dashboard.json", ops_views.dashboard_data, name="dashboard-data"),
    path("api/orders/<uuid:order_id>/refunds/", RefundListCreateApi.as_view(), name="refund-list"),
    path(
        "api/orders/<uuid:order_id>/refunds/<uuid:refund_id>/", RefundDetailApi.as_view(), name="refund-detail"
    ),
    path("webhooks/braintree/", BraintreeWebhookApi.as_view(), name="webhook-braintree"),
]
