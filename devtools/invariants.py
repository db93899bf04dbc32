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
from payments.core.statuses import (
    ACTIVE_STATUSES,
    AFTER_SALE_MOVES,
    FINAL_STATUSES,
    RESTING_STATUSES,
    SOLD_STATUSES,
    OrderStatus,
)

ACCEPTED = (200, 201, 202)
# A duplicate submission may also be told to come back later (the first copy is in flight).
ACCEPTED_OR_IN_FLIGHT = (*ACCEPTED, 409)
# The database could not be reached (503 with Retry-After): the client tries again later.
UNAVAILABLE = 503
# How far along its life an order is: a move to a lower rank goes backwards.
STATUS_RANK = {**{s: i for i, s in enumerate(ACTIVE_STATUSES)}, **dict.fromkeys(RESTING_STATUSES, len(ACTIVE_STATUSES))}
# Audit actions after the sale that may record an event on a final order without moving it.
AFTER_SALE_ACTIONS = frozenset({"refund", "settlement", "dispute", "capture", "cancel"})
# Read-only gateway lookups. Their rows are written under the order's lock, naming the status the
# order has when the answer is recorded: with at-least-once delivery two deliveries of one order
# (the charge's own verify and a redelivered verify task) can both be on the wire, and the one
# that answers second records its find on an order the first already settled. That is a call
# that happened, not a transition; a sale or a claim on a final order still is one.
LOOKUP_ACTIONS = frozenset({"find", "search"})
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
        elif o["status"] not in SOLD_STATUSES:
            violations.append({"order_id": o["id"], "transaction": t,
                               "problem": f"sale captured but order is {o['status']}"})
        elif o["transaction_id"] != t["id"]:
            violations.append({"order_id": o["id"], "transaction": t,
                               "problem": f"order records transaction {o['transaction_id']}"})
        elif Decimal(str(t["amount"])) != Decimal(str(_sold_amount(o))):
            violations.append({"order_id": o["id"], "transaction": t, "problem": f"order amount {o['amount']}"})
    ok_ids = {t["id"] for t in ok_sales}
    paid = [o for o in orders.values() if o["status"] == OrderStatus.PAID]
    # After the sale a refunded order's sale may be voided and a declined one is not successful;
    # a partially refunded order's sale still holds the rest of the money.
    paid += [o for o in orders.values() if o["status"] == OrderStatus.PARTIALLY_REFUNDED]
    for o in paid:
        if o["transaction_id"] not in ok_ids:
            violations.append({"order_id": o["id"],
                               "problem": f"paid with {o['transaction_id']!r}, no successful sale with that id"})
    return _result("every successful sale is recorded on exactly one paid order (same id, amount)",
                   len(ok_sales) + len(paid), violations)


def _sold_amount(o):
    """What the order's sale holds at the gateway: a manual order's capture may have taken less."""
    return o["captured_amount"] if o.get("captured_amount") is not None else o["amount"]


def _backwards(row, frm, to):
    """Why the move `frm -> to` of an audit row goes backwards, or None."""
    if to in AFTER_SALE_MOVES.get(frm, ()):
        return None  # after the sale: refunds and settlement move a paid order forward
    if frm == to and row["action"] in AFTER_SALE_ACTIONS:
        return None  # a refund request, a gateway refund call or a dispute: recorded, no status change
    if frm == to and row["action"] in LOOKUP_ACTIONS:
        return None  # a find or search answered after another delivery settled the order
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
        bad = [r for r in responses if r["status"] not in (*ACCEPTED_OR_IN_FLIGHT, UNAVAILABLE)]
        rows = by_key.get(group["key"], [])
        charges = sum(len(ok_by_order.get(o["id"], [])) for o in rows)
        # Copies that were all refused for an unreachable database may have stored nothing.
        refused_only = all(r["status"] == UNAVAILABLE for r in responses)
        if len(ids) > 1 or len(rows) > 1 or (len(rows) == 0 and not refused_only) or charges > 1 or bad:
            violations.append({"key": group["key"], "answered_ids": sorted(i for i in ids if i),
                               "orders": [o["id"] for o in rows], "charges": charges, "responses": responses})
    return _result("duplicate submissions: one order, at most one charge", len(groups), violations)


# After the sale. Further inputs, plain dicts as the harness reads them:
# * `refunds`: refund id -> the refund row (`id`, `order_id`, `status`, `amount` as Decimal,
#   `kind`, `transaction_id`);
# * `sale_of`: order id -> its sale's transaction id (the order's `transaction_id`);
# * `dispute_webhooks`: the dispute notifications delivered, `{"kind", "subject_id", "timestamp",
#   "transaction_id"}` (duplicates included); `dispute_events`: order id -> its dispute audit rows'
#   `detail`s (`kind`, `dispute`).

REFUND_OK = "succeeded"


def _credits(ledger):
    return [t for t in ledger if t.get("type") == "credit" and t.get("status") not in ("voided", "failed")]


def i6_refunds_never_exceed_the_sale(ledger, refunds, orders):
    """I6: per sale, the successful refunds (recorded, and credited at the gateway) stay within its amount."""
    violations = []
    recorded = {}
    for r in refunds.values():
        if r["status"] == REFUND_OK:
            recorded[r["order_id"]] = recorded.get(r["order_id"], Decimal("0")) + Decimal(str(r["amount"]))
    for order_id, total in recorded.items():
        o = orders.get(order_id)
        if o is None or total > Decimal(str(o["amount"])):
            violations.append({"order_id": order_id, "refunded": str(total), "problem": "recorded refunds exceed the sale"})
    sales = {t["id"]: t for t in ledger if t.get("type") == "sale"}
    credited = {}
    for c in _credits(ledger):
        sale_id = c.get("refunded_transaction_id")
        credited[sale_id] = credited.get(sale_id, Decimal("0")) + Decimal(str(c["amount"]))
    for sale_id, total in credited.items():
        sale = sales.get(sale_id)
        if sale is None or total > Decimal(str(sale["amount"])):
            violations.append({"sale": sale_id, "credited": str(total), "problem": "credits at the gateway exceed the sale"})
    return _result("refunds per sale never exceed the sale", len(recorded) + len(credited), violations)


def i7_no_refund_charged_twice(ledger, refunds):
    """I7: every refund row has at most one credit at the gateway (matched by its id as order_id)."""
    per_refund = Counter(c.get("order_id") for c in _credits(ledger) if c.get("order_id") in refunds)
    violations = [{"refund_id": rid, "credits": n} for rid, n in per_refund.items() if n > 1]
    return _result("no refund charged twice", len(refunds), violations)


def i8_every_gateway_refund_on_one_row(ledger, refunds, sale_of, canceled_sales=frozenset()):
    """I8: every credit and every void at the gateway is recorded on exactly one succeeded refund row."""
    violations = []
    by_txn = Counter(r["transaction_id"] for r in refunds.values() if r["status"] == REFUND_OK)
    for c in _credits(ledger):
        owner = refunds.get(c.get("order_id"))
        if by_txn[c["id"]] != 1 or owner is None or owner["transaction_id"] != c["id"] or owner["status"] != REFUND_OK:
            violations.append({"credit": c["id"], "rows": by_txn[c["id"]], "problem": "credit not recorded on exactly one row"})
    our_sales = set(sale_of.values())
    for t in ledger:
        # A canceled manual order's authorization is voided by its cancel, not by a refund.
        if t.get("type") == "sale" and t.get("status") == "voided" and t["id"] in our_sales - set(canceled_sales):
            voids = [r for r in refunds.values() if r["status"] == REFUND_OK and r["kind"] == "void"
                     and r["transaction_id"] == t["id"]]
            if len(voids) != 1:
                violations.append({"sale": t["id"], "rows": len(voids), "problem": "void not recorded on exactly one row"})
    checked = len(_credits(ledger))
    return _result("every refund at the gateway recorded on exactly one refund row", checked, violations)


def i9_every_dispute_webhook_reflected_once(dispute_webhooks, dispute_events, sale_of):
    """I9: each distinct dispute notification for one of our sales left exactly one dispute event."""
    order_of = {txn: oid for oid, txn in sale_of.items()}
    distinct = {(w["kind"], w["subject_id"], w["timestamp"]): w for w in dispute_webhooks}
    violations = []
    for (kind, subject_id, _), w in distinct.items():
        order_id = order_of.get(w.get("transaction_id"))
        if order_id is None:
            continue
        seen = [d for d in dispute_events.get(order_id, []) if d.get("kind") == kind and d.get("dispute") == subject_id]
        if len(seen) != 1:
            violations.append({"order_id": order_id, "kind": kind, "dispute": subject_id, "events": len(seen)})
    return _result("every dispute webhook reflected once", len(distinct), violations)


# Manual capture (the chaos run's manual-capture lane). `manual` holds the manual orders, with
# `capture`, `authorized_amount` and `captured_amount` read beside the usual columns.
CAPTURED = frozenset({"submitted_for_settlement", "settling", "settled", "settlement_pending", "settlement_confirmed"})


def _manual_sales(ledger, manual):
    by_order = {}
    for t in ledger:
        if t.get("type") == "sale" and t.get("order_id") in manual:
            by_order.setdefault(t["order_id"], []).append(t)
    return by_order


def i10_never_captured_twice(ledger, manual, answers):
    """I10: a manual order's authorization is captured at most once at the gateway, and of its capture
    and cancel requests (each Idempotency-Key one request) at most one was accepted."""
    violations = []
    for oid, txs in _manual_sales(ledger, manual).items():
        captured = [t for t in txs if t.get("status") in CAPTURED]
        if len(captured) > 1:
            violations.append({"order_id": oid, "captured": captured, "problem": "captured twice"})
    accepted = {}
    for a in answers:
        if a["status"] in ACCEPTED:
            accepted.setdefault(a["order_id"], set()).add(a["key"])
    for oid, keys in accepted.items():
        if len(keys) > 1:
            violations.append({"order_id": oid, "keys": sorted(keys), "problem": "more than one decision accepted"})
    return _result("a manual order is captured at most once, one decision accepted", len(manual), violations)


def i11_never_captured_after_cancel(ledger, manual):
    """I11: a canceled order's authorization is voided and never captured; a paid one's never voided."""
    violations = []
    sales_of = _manual_sales(ledger, manual)
    for oid, o in manual.items():
        statuses = {t.get("status") for t in sales_of.get(oid, [])}
        if o["status"] == OrderStatus.CANCELED and (statuses & CAPTURED or "voided" not in statuses):
            violations.append({"order_id": oid, "ledger": sorted(statuses), "problem": "canceled, not (only) voided"})
        if o["status"] == OrderStatus.PAID and not statuses & CAPTURED:
            violations.append({"order_id": oid, "ledger": sorted(statuses), "problem": "paid without a capture"})
    return _result("never captured after a cancel", len(manual), violations)


def i12_never_more_than_authorized(ledger, manual):
    """I12: a capture never exceeds the authorization, and the order records what the gateway captured."""
    violations = []
    sales_of = _manual_sales(ledger, manual)
    for oid, o in manual.items():
        for t in sales_of.get(oid, []):
            if t.get("status") not in CAPTURED:
                continue
            amount = Decimal(str(t["amount"]))
            authorized = o.get("authorized_amount")
            if authorized is None or amount > Decimal(str(authorized)) or amount > Decimal(str(o["amount"])):
                violations.append({"order_id": oid, "captured": str(amount), "authorized": str(authorized),
                                   "problem": "captured more than authorized"})
            elif o["status"] in SOLD_STATUSES and o.get("captured_amount") is not None \
                    and Decimal(str(o["captured_amount"])) != amount:
                violations.append({"order_id": oid, "captured": str(amount), "recorded": str(o["captured_amount"]),
                                   "problem": "order records another captured amount"})
    return _result("never captured more than authorized", len(manual), violations)
