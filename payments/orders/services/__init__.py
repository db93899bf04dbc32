"""Every state change of an order, one module per concern around payments/core/lifecycle.py.

The public services are re-exported here: `from payments.orders.services import order_create`.
"""

from payments.orders.services.admin_actions import order_requeue, order_reverify
from payments.orders.services.charge import order_charge, order_give_up
from payments.orders.services.intake import OrderCreateResult, order_create, request_fingerprint
from payments.orders.services.reconcile import orders_reconcile
from payments.orders.services.verify import order_verify

__all__ = [
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
