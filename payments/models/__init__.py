"""The payments app's models, one module per capability, all imported here (Django's app registry
finds them through this package)."""

from payments.models.customers import Customer, PaymentMethod
from payments.models.ops import OpsHeartbeat
from payments.models.orders import AuthorizationDecision, CaptureMode, LastSaleOutcome, Order, OrderEvent
from payments.models.refunds import Refund
from payments.models.webhooks import WebhookNotification

__all__ = [
    "AuthorizationDecision",
    "CaptureMode",
    "Customer",
    "LastSaleOutcome",
    "OpsHeartbeat",
    "Order",
    "OrderEvent",
    "PaymentMethod",
    "Refund",
    "WebhookNotification",
]
