"""Pollers: wait for a condition instead of sleeping a guessed amount of time."""

import time

from devtools.stack import http_request
from payments.core.statuses import RESTING_STATUSES


def wait_until(predicate, timeout, interval=0.1, desc="condition"):
    """Call `predicate` until it returns something truthy and return that; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {desc}")
        time.sleep(interval)


def wait_for_api_order(base_url, token, order_id, timeout=25, statuses=RESTING_STATUSES):
    """Poll `GET /api/orders/<id>/` until the order's status is in `statuses`; returns its body.

    On timeout, raises TimeoutError naming the last body seen (or the last non-200 answer).
    """
    url = f"{base_url}/api/orders/{order_id}/"
    last = {}

    def arrived():
        status, _, body = http_request("GET", url, headers={"Authorization": f"Token {token}"})
        last.update(answer=status, body=body)
        return body if status == 200 and body["status"] in statuses else None

    try:
        return wait_until(arrived, timeout=timeout, interval=0.2, desc=f"order {order_id} in {sorted(statuses)}")
    except TimeoutError:
        raise TimeoutError(f"order {order_id} not in {sorted(statuses)} after {timeout}s: {last}") from None
