"""Every state change of an order, one module per concern around `lifecycle`.

`from payments.services import order_create` etc.: the public services are re-exported here.
"""

from payments.services.admin_actions import order_requeue, order_reverify
from payments.services.charge import order_charge, order_give_up
from payments.services.dispatch import order_dispatch
from payments.services.intake import OrderCreateResult, order_create, request_fingerprint
from payments.services.reconcile import orders_reconcile
from payments.services.verify import order_verify

# After the sale: imported last, they build on the modules above.
from payments.services.refunds import RefundCreateResult, refund_charge, refund_create  # noqa: E402
from payments.services.settlement import order_settlement_record, orders_track_settlement  # noqa: E402
from payments.services.webhooks import webhook_process, webhook_receive  # noqa: E402

__all__ = [
    "OrderCreateResult",
    "order_charge",
    "order_create",
    "order_dispatch",
    "order_give_up",
    "order_requeue",
    "order_reverify",
    "order_verify",
    "orders_reconcile",
    "request_fingerprint",
    "RefundCreateResult",
    "refund_charge",
    "refund_create",
    "order_settlement_record",
    "orders_track_settlement",
    "webhook_process",
    "webhook_receive",
]
