"""The chaos harness's invariants I1–I5, each shown to hold on a good run and to catch a bad one.

A "run" here is hand-made plain data, as the harness reads it after a chaos run: the simulator's
ledger, the order rows, their audit rows and the answers to duplicate submissions.
"""

from decimal import Decimal

from devtools import invariants

PAID_ID, FAILED_ID, PARKED_ID = "order-paid", "order-failed", "order-parked"


def order(oid, status, transaction_id=None, amount="10.00", key=None):
    return {"id": oid, "status": status, "amount": Decimal(amount), "transaction_id": transaction_id, "key": key}


def sale(tid, oid, status="submitted_for_settlement", amount="10.00"):
    return {"id": tid, "order_id": oid, "type": "sale", "status": status, "amount": amount}


def row(rid, action, frm, to, outcome=""):
    return {"id": rid, "action": action, "outcome": outcome, "from_status": frm, "to_status": to}


def by_id(*orders):
    return {o["id"]: o for o in orders}


def good_run():
    """A paid order (one sale), a declined one, one parked for review; a duplicate key answered twice."""
    orders = by_id(
        order(PAID_ID, "paid", "t1", key="k1"),
        order(FAILED_ID, "failed"),
        order(PARKED_ID, "needs_review"),
    )
    ledger = [sale("t1", PAID_ID), sale("t2", FAILED_ID, status="processor_declined")]
    events = {
        PAID_ID: [row(1, "create", None, "pending"), row(2, "claim", "pending", "processing"),
                  row(3, "sale", "processing", "processing", "approved"), row(4, "find", "processing", "paid")],
        FAILED_ID: [row(5, "create", None, "pending"), row(6, "claim", "pending", "processing"),
                    row(7, "sale", "processing", "failed", "processor_declined")],
        PARKED_ID: [row(8, "create", None, "pending"), row(9, "claim", "pending", "processing"),
                    row(10, "give_up", "processing", "needs_review")],
    }
    groups = [{"key": "k1", "responses": [{"status": 202, "order_id": PAID_ID}, {"status": 202, "order_id": PAID_ID},
                                          {"status": 409, "order_id": None}]}]
    return {"ledger": ledger, "orders": orders, "events": events, "groups": groups,
            "accepted_ids": {PAID_ID, FAILED_ID, PARKED_ID}}


def violations(result):
    assert result["passed"] is not bool(result["violations"])
    return result["violations"]


def test_i1_holds_with_one_successful_sale_per_order():
    run = good_run()
    assert violations(invariants.i1_at_most_one_successful_sale_per_order(run["ledger"])) == []


def test_i1_catches_a_second_successful_sale_of_one_order():
    # given the gateway took the paid order's money twice
    ledger = good_run()["ledger"] + [sale("t3", PAID_ID, status="settled")]
    # when
    found = violations(invariants.i1_at_most_one_successful_sale_per_order(ledger))
    # then
    assert [(v["order_id"], [t["id"] for t in v["sales"]]) for v in found] == [(PAID_ID, ["t1", "t3"])]


def test_i1_does_not_count_a_declined_retry_as_a_charge():
    ledger = good_run()["ledger"] + [sale("t3", PAID_ID, status="processor_declined")]
    assert violations(invariants.i1_at_most_one_successful_sale_per_order(ledger)) == []


def test_i2_holds_when_every_accepted_order_rests():
    run = good_run()
    assert violations(invariants.i2_every_accepted_order_rests(run["orders"], run["accepted_ids"])) == []


def test_i2_catches_an_order_still_processing():
    run = good_run()
    run["orders"][FAILED_ID]["status"] = "processing"
    found = violations(invariants.i2_every_accepted_order_rests(run["orders"], run["accepted_ids"]))
    assert found == [{"order_id": FAILED_ID, "status": "processing"}]


def test_i2_catches_an_accepted_order_missing_from_the_database():
    run = good_run()
    found = violations(invariants.i2_every_accepted_order_rests(run["orders"], run["accepted_ids"] | {"lost"}))
    assert found == [{"order_id": "lost", "status": "missing from database"}]


def test_i3_holds_when_sales_and_paid_orders_pair_up():
    run = good_run()
    assert violations(invariants.i3_sales_and_paid_orders_match(run["ledger"], run["orders"])) == []


def test_i3_catches_a_charge_on_an_order_that_is_not_paid():
    # given the parked order's sale landed at the gateway after all
    run = good_run()
    ledger = run["ledger"] + [sale("t9", PARKED_ID)]
    found = violations(invariants.i3_sales_and_paid_orders_match(ledger, run["orders"]))
    assert [v["problem"] for v in found] == ["sale captured but order is needs_review"]


def test_i3_catches_a_paid_order_without_its_sale_and_an_amount_mismatch():
    run = good_run()
    run["orders"][PAID_ID]["amount"] = Decimal("10.01")
    found = violations(invariants.i3_sales_and_paid_orders_match(run["ledger"], run["orders"]))
    assert [v["problem"] for v in found] == ["order amount 10.01"]

    run["orders"][PAID_ID]["transaction_id"] = "t-unknown"
    found = violations(invariants.i3_sales_and_paid_orders_match(run["ledger"], run["orders"]))
    assert [v["problem"] for v in found] == ["order records transaction t-unknown",
                                             "paid with 't-unknown', no successful sale with that id"]


def test_i4_holds_on_continuous_forward_chains():
    run = good_run()
    assert violations(invariants.i4_status_never_goes_backwards(run["orders"], run["events"])) == []


def test_i4_allows_an_admin_requeue_out_of_needs_review_only():
    run = good_run()
    run["orders"][PARKED_ID]["status"] = "paid"
    run["orders"][PARKED_ID]["transaction_id"] = "t5"
    run["events"][PARKED_ID] += [row(11, "requeue", "needs_review", "processing"), row(12, "find", "processing", "paid")]
    assert violations(invariants.i4_status_never_goes_backwards(run["orders"], run["events"])) == []

    run["events"][PARKED_ID][3] = row(11, "reconcile", "needs_review", "processing")
    [found] = violations(invariants.i4_status_never_goes_backwards(run["orders"], run["events"]))
    assert found["category"] == "backwards"
    assert found["problem"] == "needs_review -> processing by reconcile, not an admin requeue"


def test_i4_catches_a_move_out_of_a_final_status():
    run = good_run()
    run["orders"][FAILED_ID]["status"] = "processing"
    run["events"][FAILED_ID].append(row(20, "claim", "failed", "processing"))
    result = invariants.i4_status_never_goes_backwards(run["orders"], run["events"])
    assert [v["problem"] for v in violations(result)] == ["left final status failed for processing"]
    assert result["orders_affected"] == 1


def test_i4_catches_a_status_going_backwards():
    run = good_run()
    run["orders"][PARKED_ID]["status"] = "pending"
    run["events"][PARKED_ID] = run["events"][PARKED_ID][:2] + [row(10, "reconcile", "processing", "pending")]
    found = violations(invariants.i4_status_never_goes_backwards(run["orders"], run["events"]))
    assert [v["problem"] for v in found] == ["went backwards processing -> pending"]


def test_i4_catches_a_stale_row_and_an_unrecorded_transition():
    # given a row written from a snapshot the order had already left, and a status no row explains
    run = good_run()
    run["events"][PAID_ID].append(row(30, "claim", "processing", "processing"))
    run["orders"][FAILED_ID]["status"] = "paid"
    result = invariants.i4_status_never_goes_backwards(run["orders"], run["events"])
    assert result["by_category"] == {"stale audit row": 1, "unrecorded transition": 1}
    assert not result["passed"]


def test_i5_holds_with_one_order_and_one_charge_per_key():
    run = good_run()
    assert violations(invariants.i5_one_order_per_idempotency_key(run["groups"], run["orders"], run["ledger"])) == []


def test_i5_catches_one_key_answered_with_two_orders():
    # given the second copy of a duplicate submission made an order of its own
    run = good_run()
    run["orders"]["order-copy"] = order("order-copy", "paid", "t7", key="k1")
    run["groups"][0]["responses"][1]["order_id"] = "order-copy"
    ledger = run["ledger"] + [sale("t7", "order-copy")]
    [found] = violations(invariants.i5_one_order_per_idempotency_key(run["groups"], run["orders"], ledger))
    assert found["answered_ids"] == ["order-copy", PAID_ID]
    assert found["charges"] == 2


def test_i5_catches_a_copy_answered_with_an_error():
    run = good_run()
    run["groups"][0]["responses"].append({"status": 500, "order_id": None})
    [found] = violations(invariants.i5_one_order_per_idempotency_key(run["groups"], run["orders"], run["ledger"]))
    assert found["key"] == "k1"


def test_i5_allows_copies_refused_while_the_database_was_unreachable():
    # given one copy answered 503 (retry later) beside the accepted one, and a key refused every time
    run = good_run()
    run["groups"][0]["responses"].append({"status": 503, "order_id": None})
    run["groups"].append({"key": "k-refused", "responses": [{"status": 503, "order_id": None}] * 2})
    # when / then
    assert violations(invariants.i5_one_order_per_idempotency_key(run["groups"], run["orders"], run["ledger"])) == []


def test_i5_catches_a_key_without_an_order_unless_every_copy_was_refused():
    # given a key answered 409 (in flight) whose order never appeared
    run = good_run()
    run["groups"].append({"key": "k-lost", "responses": [{"status": 409, "order_id": None}, {"status": 503, "order_id": None}]})
    [found] = violations(invariants.i5_one_order_per_idempotency_key(run["groups"], run["orders"], run["ledger"]))
    assert found["key"] == "k-lost"


# After the sale: I6–I9, each on a good run and on a hand-made ledger that breaks it.

SOLD = "order-sold"
R1, R2 = "refund-1", "refund-2"


def credit(tid, refund_id, amount, sale_id="t9"):
    return {"id": tid, "order_id": refund_id, "type": "credit", "status": "submitted_for_settlement",
            "amount": amount, "refunded_transaction_id": sale_id}


def refund_row(rid, amount, status="succeeded", kind="refund", transaction_id=None, order_id=SOLD):
    return {"id": rid, "order_id": order_id, "status": status, "amount": Decimal(amount), "kind": kind,
            "transaction_id": transaction_id}


def refund_run():
    orders = by_id(order(SOLD, "refunded", "t9"))
    ledger = [sale("t9", SOLD, status="settled"), credit("c1", R1, "4.00"), credit("c2", R2, "6.00")]
    refunds = {R1: refund_row(R1, "4.00", transaction_id="c1"), R2: refund_row(R2, "6.00", transaction_id="c2")}
    return orders, ledger, refunds


def test_i6_holds_when_refunds_stay_within_the_sale():
    orders, ledger, refunds = refund_run()
    assert invariants.i6_refunds_never_exceed_the_sale(ledger, refunds, orders)["passed"]


def test_i6_catches_credits_beyond_the_sale():
    orders, ledger, refunds = refund_run()
    ledger.append(credit("c3", "someone-else", "0.01"))
    result = invariants.i6_refunds_never_exceed_the_sale(ledger, refunds, orders)
    assert not result["passed"]
    assert result["violations"][0]["problem"] == "credits at the gateway exceed the sale"


def test_i6_catches_recorded_refunds_beyond_the_sale():
    orders, ledger, refunds = refund_run()
    refunds[R2]["amount"] = Decimal("6.01")
    assert not invariants.i6_refunds_never_exceed_the_sale(ledger, refunds, orders)["passed"]


def test_i7_holds_with_one_credit_per_refund_and_catches_a_second():
    _, ledger, refunds = refund_run()
    assert invariants.i7_no_refund_charged_twice(ledger, refunds)["passed"]
    ledger.append(credit("c1bis", R1, "4.00"))
    result = invariants.i7_no_refund_charged_twice(ledger, refunds)
    assert result["violations"] == [{"refund_id": R1, "credits": 2}]


def test_i8_holds_when_every_credit_is_on_its_row():
    _, ledger, refunds = refund_run()
    assert invariants.i8_every_gateway_refund_on_one_row(ledger, refunds, {SOLD: "t9"})["passed"]


def test_i8_catches_an_unrecorded_credit_and_an_unrecorded_void():
    _, ledger, refunds = refund_run()
    refunds[R2] = refund_row(R2, "6.00", status="processing")
    ledger.append(sale("t8", "order-voided", status="voided"))
    result = invariants.i8_every_gateway_refund_on_one_row(ledger, refunds, {SOLD: "t9", "order-voided": "t8"})
    assert {v["problem"] for v in result["violations"]} == {
        "credit not recorded on exactly one row", "void not recorded on exactly one row"
    }


def test_i9_holds_for_duplicated_webhooks_reflected_once_and_catches_a_double():
    hooks = [{"kind": "dispute_opened", "subject_id": "dp1", "timestamp": "t", "transaction_id": "t9"}] * 2
    events = {SOLD: [{"kind": "dispute_opened", "dispute": "dp1"}]}
    assert invariants.i9_every_dispute_webhook_reflected_once(hooks, events, {SOLD: "t9"})["passed"]
    events[SOLD].append({"kind": "dispute_opened", "dispute": "dp1"})
    assert not invariants.i9_every_dispute_webhook_reflected_once(hooks, events, {SOLD: "t9"})["passed"]
    assert not invariants.i9_every_dispute_webhook_reflected_once(hooks, {}, {SOLD: "t9"})["passed"]


def test_i3_and_i4_accept_the_after_sale_moves():
    orders = by_id(order(SOLD, "partially_refunded", "t9"))
    ledger = [sale("t9", SOLD, status="settled")]
    events = {SOLD: [row(1, "create", None, "pending"), row(2, "claim", "pending", "processing"),
                     row(3, "find", "processing", "paid"), row(4, "refund", "paid", "partially_refunded")]}
    assert invariants.i3_sales_and_paid_orders_match(ledger, orders)["passed"]
    assert invariants.i4_status_never_goes_backwards(orders, events)["passed"]
    events[SOLD].append(row(5, "refund", "partially_refunded", "paid"))
    assert not invariants.i4_status_never_goes_backwards(by_id(order(SOLD, "paid", "t9")), events)["passed"]


def test_i4_accepts_after_sale_events_on_a_final_order_but_not_a_charge_event():
    orders = by_id(order(SOLD, "refunded", "t9"))
    trail = [row(1, "create", None, "pending"), row(2, "claim", "pending", "processing"),
             row(3, "find", "processing", "paid"), row(4, "refund", "paid", "paid", "refund_requested"),
             row(5, "refund", "paid", "refunded", "refunded"), row(6, "dispute", "refunded", "refunded", "dispute")]
    assert invariants.i4_status_never_goes_backwards(orders, {SOLD: trail})["passed"]
    trail.append(row(7, "sale", "refunded", "refunded", "approved"))
    assert not invariants.i4_status_never_goes_backwards(orders, {SOLD: trail})["passed"]


def test_i4_accepts_a_lookup_recorded_after_another_delivery_settled_the_order():
    # given two deliveries of one order both finding its sale: the second find is recorded under
    # the lock after the first settled the order, so its row names `paid`
    orders = by_id(order(SOLD, "paid", "t9"))
    trail = [row(1, "create", None, "pending"), row(2, "claim", "pending", "processing"),
             row(3, "find", "processing", "paid"), row(4, "find", "paid", "paid", "found")]
    assert invariants.i4_status_never_goes_backwards(orders, {SOLD: trail})["passed"]
    # a claim of the settled order is a transition out of it, whatever it claims to change
    trail.append(row(5, "claim", "paid", "paid", "claimed"))
    [found] = violations(invariants.i4_status_never_goes_backwards(orders, {SOLD: trail}))
    assert found["problem"] == "transition recorded out of final status paid"
