"""The order intake both reference designs share: store the order, then hand it to `dispatch`."""

import json
from decimal import Decimal, InvalidOperation

from django.http import JsonResponse

from comparison.shop.handler import order_message
from comparison.shop.models import Order


def create_order(request, dispatch):
    """POST {"total": "12.34", "braintree_nonce": "..."} (or "braintree_token": a saved card) → 201 {"id": N}.

    `dispatch(order, message)` is the design's send; an exception it raises is not caught (a 500,
    the order stays stored for the sweeper), as nothing in the post catches one.
    """
    if request.method != "POST":
        return JsonResponse({"detail": "POST only"}, status=405)
    try:
        data = json.loads(request.body)
        total = Decimal(str(data["total"]))
        token = str(data.get("braintree_token") or "")
        nonce = "" if token else str(data["braintree_nonce"])
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return JsonResponse({"detail": 'a JSON object with "total" and "braintree_nonce" is required'}, status=400)
    order = Order.objects.create(total=total, braintree_nonce=nonce, braintree_token=token)
    dispatch(order, order_message(order))
    return JsonResponse({"id": order.id}, status=201)
