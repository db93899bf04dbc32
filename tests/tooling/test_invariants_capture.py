"""The chaos harness's manual-capture invariants I10–I12, each shown to hold on a good run and to catch a bad one."""

from decimal import Decimal

from devtools import invariants


def manual(oid, status, captured=None, authorized="50.00"):
    return {"id": oid, "status": status, "amount": Decimal("50.00"), "capture": "manual",
            "authorized_amount": Decimal(authorized), "captured_amount": Decimal(captured) if captured else None}


def sale(tid, oid, status, amount="50.00"):
    return {"id": tid, "order_id": oid, "type": "sale", "status": status, "amount": amount}


def answer(oid, op, key, status):
    return {"order_id": oid, "op": op, "key": key, "status": status}


def good_run():
    orders = {"a": manual("a", "paid", captured="30.00"), "b": manual("b", "canceled"), "c": manual("c", "authorized")}
    ledger = [sale("t1", "a", "submitted_for_settlement", "30.00"), sale("t2", "b", "voided"),
              sale("t3", "c", "authorized")]
    answers = [answer("a", "capture", "cap-a", 202), answer("a", "capture", "cap-a", 202),
               answer("a", "capture", "cap2-a", 409), answer("b", "cancel", "cancel-b", 202),
               answer("b", "capture", "cap-b", 409)]
    return orders, ledger, answers


def test_a_good_run_holds_every_manual_capture_invariant():
    orders, ledger, answers = good_run()
    assert invariants.i10_never_captured_twice(ledger, orders, answers)["passed"]
    assert invariants.i11_never_captured_after_cancel(ledger, orders)["passed"]
    assert invariants.i12_never_more_than_authorized(ledger, orders)["passed"]


def test_i10_catches_two_captures_and_two_accepted_decisions():
    orders, ledger, answers = good_run()
    twice = [*ledger, sale("t9", "a", "submitted_for_settlement", "10.00")]
    both = [*answers, answer("b", "capture", "cap-b2", 202)]
    assert not invariants.i10_never_captured_twice(twice, orders, answers)["passed"]
    assert not invariants.i10_never_captured_twice(ledger, orders, both)["passed"]


def test_i11_catches_a_canceled_order_whose_authorization_was_captured():
    orders, ledger, _ = good_run()
    ledger[1] = sale("t2", "b", "submitted_for_settlement")
    assert not invariants.i11_never_captured_after_cancel(ledger, orders)["passed"]


def test_i12_catches_a_capture_above_the_authorization_and_a_wrong_record():
    orders, ledger, _ = good_run()
    above = [sale("t1", "a", "submitted_for_settlement", "50.01"), *ledger[1:]]
    other = [sale("t1", "a", "submitted_for_settlement", "20.00"), *ledger[1:]]
    assert not invariants.i12_never_more_than_authorized(above, orders)["passed"]
    assert not invariants.i12_never_more_than_authorized(other, orders)["passed"]


def test_i3_compares_a_partly_captured_sale_with_the_captured_amount():
    orders, ledger, _ = good_run()
    for o in orders.values():
        o["transaction_id"] = {"a": "t1", "b": "t2", "c": "t3"}[o["id"]]
    assert invariants.i3_sales_and_paid_orders_match(ledger, orders)["passed"]
