"""Every state change of an order, one module per concern around payments/core/lifecycle.py.

The public services are re-exported here: `from payments.orders.services import order_create`.
"""

from payments.orders.services.admin_actions import order_requeue, order_reverify
from payments.orders.services.capture import (
    DecisionResult,
    order_cancel,
    order_cancel_request,
    order_capture,
    order_capture_request,
    order_decision_give_up,
)
from payments.orders.services.charge import order_charge, order_give_up
from payments.orders.services.intake import OrderCreateResult, order_create, request_fingerprint
from payments.orders.services.reconcile import authorizations_reconcile, orders_reconcile
from payments.orders.services.verify import order_verify

__all__ = [
    "DecisionResult",
    "authorizations_reconcile",
    "order_cancel",
    "order_cancel_request",
    "order_capture",
    "order_capture_request",
    "order_decision_give_up",
    "OrderCreateResult",
    "order_charge",
    "order_create",
    "order_give_up",
    "order_requeue",
    "order_reverify",
    "order_verify",
    "orders_reconcile",
    "request_fingerprint",
]
