"""bench.compare's figures (bench/compare/figures.py): orders matched to ledger sales by amount."""

from datetime import datetime, timedelta, timezone

from bench.chaos.plan import Planned
from bench.compare.faults import FAULT_KINDS, SPELL, plan_lanes
from bench.compare.figures import figures, unique_amounts

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entry(index, kind, amount, *answers):
    p = Planned(index=index, kind=kind, amount=amount, nonce="n", key=f"k{index}")
    p.responses = [{"status": status, "order_id": oid} for status, oid in answers]
    return p


def order(status, transaction_id=None, seconds=2):
    return {"status": status, "transaction_id": transaction_id, "created_at": T0,
            "final_at": T0 + timedelta(seconds=seconds), "error_codes": []}


def sale(tid, amount):
    return {"id": tid, "type": "sale", "status": "submitted_for_settlement", "amount": amount}


def test_a_clean_run_has_no_harm():
    entries = [entry(0, "approved", "10.00", (202, "a")), entry(1, "declined", "2500.00", (202, "b"))]
    row, _ = figures(entries, {"a": order("paid", "t1"), "b": order("failed")}, [sale("t1", "10.00")], "")
    assert (row["accepted"], row["lost"], row["double_charged"], row["orphaned"], row["wrong_status"]) == (2, 0, 0, 0, 0)
    assert row["p50_s"] == 2.0


def test_two_sales_of_one_order_amount_are_a_double_charge_and_the_unrecorded_one_an_orphan():
    entries = [entry(0, "approved", "10.00", (202, "a"))]
    row, extra = figures(entries, {"a": order("paid", "t1")}, [sale("t1", "10.00"), sale("t2", "10.00")], "")
    assert (row["double_charged"], row["orphaned"]) == (1, 1)
    assert extra["orphaned_examples"] == [{"id": "t2", "amount": "10.00"}]


def test_an_accepted_order_the_design_no_longer_has_is_lost():
    row, extra = figures([entry(0, "approved", "10.00", (202, "a"))], {}, [], "")
    assert row["lost"] == 1 and extra["lost_examples"] == ["a"]


def test_refusals_are_counted_by_answer_and_channel_full_named_from_the_api_log():
    entries = [entry(0, "approved", "10.00", (500, None)), entry(1, "approved", "11.00", (None, None))]
    row, extra = figures(entries, {}, [], "channels.exceptions.ChannelFull")
    assert row["refused"] == 2
    assert extra["refused_by"] == {"500 ChannelFull": 1, "connection error": 1}


def test_amounts_of_orders_that_should_be_paid_are_made_unique():
    plan = [entry(0, "approved", "10.00"), entry(1, "duplicate", "10.00"), entry(2, "declined", "10.00")]
    unique_amounts(plan)
    assert [p.amount for p in plan] == ["10.00", "10.01", "10.00"]


def test_the_fault_lanes_are_seeded_and_hold_every_kind_the_number_of_repeats():
    lanes = plan_lanes(seed=7, window=100, repeats=2)
    assert lanes == plan_lanes(seed=7, window=100, repeats=2)
    kinds = [kind for events in lanes.values() for _, kind in events]
    assert sorted(kinds) == sorted([k for k in FAULT_KINDS if k != SPELL] * 2 + [SPELL])
