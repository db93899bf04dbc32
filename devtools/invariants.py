"""The promises the chaos harness checks, as pure functions over plain data.

Inputs are what the harness reads after a run, as plain dicts:

* `ledger`: the simulator's transactions (`id`, `order_id`, `type`, `status`, `amount`);
* `orders`: order id -> the order row (`id`, `status`, `amount` as Decimal, `transaction_id`, `key`);
* `events`: order id -> its audit rows in insertion order (`id`, `action`, `outcome`,
  `from_status`, `to_status`);
* `accepted_ids`: the order ids the API answered 2xx with;
* `groups`: duplicate submissions, each `{"key": Idempotency-Key, "responses": [{"status", "order_id"}]}`.

Each function returns `{"name", "checked", "violations", ..., "passed"}`; a violation is a dict
naming the order (or key) and what is wrong with it.
"""

from collections import Counter
from decimal import Decimal

from devtools.ledger import successful_sales, successful_sales_by_order
from payments.statuses import ACTIVE_STATUSES, FINAL_STATUSES, RESTING_STATUSES, OrderStatus

ACCEPTED = (200, 201, 202)
# A duplicate submission may also be told to come back later (the first copy is in flight).
ACCEPTED_OR_IN_FLIGHT = (*ACCEPTED, 409)
# How far along its life an order is: a move to a lower rank goes backwards.
STATUS_RANK = {**{s: i for i, s in enumerate(ACTIVE_STATUSES)}, **dict.fromkeys(RESTING_STATUSES, len(ACTIVE_STATUSES))}
# The audit action of an admin's re-queue, the one move allowed out of needs_review into processing.
REQUEUE_ACTION = "requeue"


def _result(name, checked, violations, **extra):
    return {"name": name, "checked": checked, "violations": violations, **extra, "passed": not violations}


def i1_at_most_one_successful_sale_per_order(ledger):
    """I1: the gateway took no customer's money twice."""
    by_order = successful_sales_by_order(ledger)
    violations = [{"order_id": oid, "sales": txs} for oid, txs in by_order.items() if len(txs) > 1]
    return _result("at most one successful sale per order", len(by_order), violations)


def i2_every_accepted_order_rests(orders, accepted_ids):
    """I2: no order is lost: every one the API accepted exists and reached a resting status."""
    violations = [{"order_id": o["id"], "status": o["status"]} for o in orders.values()
                  if o["status"] not in RESTING_STATUSES]
    violations += [{"order_id": oid, "status": "missing from database"} for oid in set(accepted_ids) - set(orders)]
    return _result("every accepted order reached paid/failed/needs_review", len(orders), violations)


def i3_sales_and_paid_orders_match(ledger, orders):
    """I3: no orphaned charge: successful sales and paid orders pair up, same id and amount."""
    ok_sales = successful_sales(ledger)
    violations = []
    for t in ok_sales:
        o = orders.get(t.get("order_id"))
        if o is None:
            violations.append({"transaction": t, "problem": "sale for an order the database does not have"})
        elif o["status"] != OrderStatus.PAID:
            violations.append({"order_id": o["id"], "transaction": t,
                               "problem": f"sale captured but order is {o['status']}"})
        elif o["transaction_id"] != t["id"]:
            violations.append({"order_id": o["id"], "transaction": t,
                               "problem": f"order records transaction {o['transaction_id']}"})
        elif Decimal(str(t["amount"])) != Decimal(str(o["amount"])):
            violations.append({"order_id": o["id"], "transaction": t, "problem": f"order amount {o['amount']}"})
    ok_ids = {t["id"] for t in ok_sales}
    paid = [o for o in orders.values() if o["status"] == OrderStatus.PAID]
    for o in paid:
        if o["transaction_id"] not in ok_ids:
            violations.append({"order_id": o["id"],
                               "problem": f"paid with {o['transaction_id']!r}, no successful sale with that id"})
    return _result("every successful sale is recorded on exactly one paid order (same id, amount)",
                   len(ok_sales) + len(paid), violations)


def _backwards(row, frm, to):
    """Why the move `frm -> to` of an audit row goes backwards, or None."""
    if frm in FINAL_STATUSES and to != frm:
        return f"left final status {frm} for {to}"
    if frm in FINAL_STATUSES:
        return f"transition recorded out of final status {frm}"
    if frm == OrderStatus.NEEDS_REVIEW and to == OrderStatus.PROCESSING and row["action"] != REQUEUE_ACTION:
        return f"needs_review -> processing by {row['action']}, not an admin requeue"
    if frm is not None and frm != OrderStatus.NEEDS_REVIEW and STATUS_RANK.get(to, 9) < STATUS_RANK.get(frm, 9):
        return f"went backwards {frm} -> {to}"
    return None


def i4_status_never_goes_backwards(orders, events):
    """I4: the audit chain of every order is continuous, never goes backwards, ends at its status.

    Every row names the status it saw; a row naming a status the order had already left is a
    stale audit row (the trail then reads as going backwards), reported as its own category.
    """
    violations = []
    for o in orders.values():
        prev = None
        for row in events.get(o["id"], []):
            frm, to = row["from_status"] or None, row["to_status"] or None
            if to is None:
                continue
            if prev is not None and frm is not None and frm != prev:
                category = "stale audit row" if frm == to else "transition from a status the order was not in"
                violations.append({"order_id": o["id"], "attempt_id": row["id"], "category": category,
                                   "problem": f"{category}: {row['action']}/{row['outcome']} row says "
                                              f"{frm}->{to} but the order was {prev}"})
                continue  # the row did not change the order: keep walking from the real status
            problem = _backwards(row, frm, to)
            if problem:
                violations.append({"order_id": o["id"], "attempt_id": row["id"], "category": "backwards",
                                   "problem": problem})
            prev = to
        if prev != o["status"]:
            violations.append({"order_id": o["id"], "category": "unrecorded transition",
                               "problem": f"status {o['status']} but the audit trail ends at {prev}"})
    return _result("no status went backwards; every transition recorded", len(orders), violations,
                   by_category=dict(Counter(x["category"] for x in violations)),
                   orders_affected=len({x["order_id"] for x in violations}))


def i5_one_order_per_idempotency_key(groups, orders, ledger):
    """I5: duplicate submissions with one Idempotency-Key made one order and at most one charge."""
    by_key = {}
    for o in orders.values():
        if o["key"]:
            by_key.setdefault(o["key"], []).append(o)
    ok_by_order = successful_sales_by_order(ledger)
    violations = []
    for group in groups:
        responses = group["responses"]
        ids = {r["order_id"] for r in responses if r["status"] in ACCEPTED}
        bad = [r for r in responses if r["status"] not in ACCEPTED_OR_IN_FLIGHT]
        rows = by_key.get(group["key"], [])
        charges = sum(len(ok_by_order.get(o["id"], [])) for o in rows)
        if len(ids) > 1 or len(rows) != 1 or charges > 1 or bad:
            violations.append({"key": group["key"], "answered_ids": sorted(i for i in ids if i),
                               "orders": [o["id"] for o in rows], "charges": charges, "responses": responses})
    return _result("duplicate submissions: one order, at most one charge", len(groups), violations)
