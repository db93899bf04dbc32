"""The post's `braintree_process` handler, shared verbatim by both reference designs.

Only the post's `# [snipped]` parts are filled in, with the plainest reading (comparison/README.md):
the transaction id is stored right after the sale, the find's status decides paid or failed, and
error codes from `deep_errors` make the order failed. Nothing checks the order's state first and
nothing catches gateway exceptions: the post shows neither.
"""

from urllib.parse import urlsplit

import braintree
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from comparison.shop.models import Order

TRANSACTION_SUCCESS_STATUSES = [
    braintree.Transaction.Status.Authorized,
    braintree.Transaction.Status.Authorizing,
    braintree.Transaction.Status.Settled,
    braintree.Transaction.Status.SettlementConfirmed,
    braintree.Transaction.Status.SettlementPending,
    braintree.Transaction.Status.Settling,
    braintree.Transaction.Status.SubmittedForSettlement,
]


def configure_braintree():
    if settings.BRAINTREE_ENVIRONMENT == "simulator":
        url = urlsplit(settings.BRAINTREE_SIMULATOR_URL)
        environment = braintree.Environment("simulator", url.hostname, str(url.port or 80), "", False, None)
    else:
        environment = braintree.Environment.parse_environment(settings.BRAINTREE_ENVIRONMENT)
    braintree.Configuration.configure(
        environment, settings.BRAINTREE_MERCHANT_ID, settings.BRAINTREE_PUBLIC_KEY,
        settings.BRAINTREE_PRIVATE_KEY, timeout=settings.BRAINTREE_TIMEOUT_SECONDS,
        wrap_http_exceptions=True,
    )


def order_message(order):
    """What the API (and the sweeper) send: the order's data and its id."""
    return {
        "type": "braintree.process",
        "order": {"total": str(order.total), "braintree_nonce": order.braintree_nonce,
                  "braintree_token": order.braintree_token},
        "order_id": order.id,
    }


def _finish(order, result, **fields):
    for name, value in fields.items():
        setattr(order, name, value)
    order.result = result
    order.final_at = order.final_at or timezone.now()
    order.save()


def braintree_process(message):
    order_data = message.get("order")
    order_id = message.get("order_id")
    order_instance = Order.objects.get(pk=order_id)

    if order_data:
        nonce = order_data.get("braintree_nonce")
        # A saved card is charged by its token, the SDK's way; nothing else changes.
        token = order_data.get("braintree_token")
        if nonce or token:
            result = braintree.Transaction.sale({
                "amount": str(order_data.get("total")),
                **({"payment_method_token": token} if token else {"payment_method_nonce": nonce}),
                "options": {
                    "submit_for_settlement": True,
                },
            })

            if result.is_success or result.transaction:
                # The sweeper's "transaction id but no final result" needs it stored here.
                order_instance.transaction_id = result.transaction.id
                order_instance.save(update_fields=["transaction_id"])
                transaction = braintree.Transaction.find(result.transaction.id)
                if transaction.status in TRANSACTION_SUCCESS_STATUSES:
                    _finish(order_instance, "paid", transaction_status=transaction.status)
                else:
                    _finish(order_instance, "failed", transaction_status=transaction.status)
            else:
                errors = []
                for x in result.errors.deep_errors:
                    errors.append(str(x.code))
                _finish(order_instance, "failed", error_codes=errors)


def orders_to_requeue():
    """The post's sweeper query: a nonce (or a saved card's token) but no transaction id, or a
    transaction id but no final result.

    "Unfinished/incomplete" is read as "no final result stored": an order already failed with
    error codes (no transaction id) is finished, so it is not sent again. There is no age
    condition: the post names none.
    """
    return Order.objects.filter(
        Q(transaction_id__isnull=True, result__isnull=True) & (~Q(braintree_nonce="") | ~Q(braintree_token=""))
        | Q(transaction_id__isnull=False, result__isnull=True)
    ).order_by("id")
