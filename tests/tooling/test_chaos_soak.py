"""The chaos harness's storm schedule and its time to final by fault kind (bench/chaos/plan.py, checks.py)."""

import random
from datetime import datetime, timedelta, timezone

from bench.chaos.checks import times_to_final_by_fault
from bench.chaos.plan import SOAK_GAP_SECONDS, plan_soak_faults


def test_a_soak_strikes_every_5_to_40_seconds_with_kinds_drawn_from_all():
    # given
    kinds = ["kill_main", "db_outage", "gateway_errors"]
    # when
    storm = plan_soak_faults(3600, random.Random(3), kinds)
    # then
    moments = [at for at, _ in storm]
    gaps = [b - a for a, b in zip(moments, moments[1:])]
    assert SOAK_GAP_SECONDS[0] <= min(gaps) and max(gaps) <= SOAK_GAP_SECONDS[1]
    assert moments[-1] < 3600 * 0.9
    assert {kind for _, kind in storm} == set(kinds)
    assert storm == plan_soak_faults(3600, random.Random(3), kinds)  # seeded


T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def row(seconds, action, to_status):
    return {"created_at": at(seconds), "action": action, "to_status": to_status}


def test_time_to_final_counts_the_orders_active_when_each_kind_struck():
    # given three orders: one resting before the fault, two active through it (10 s and 4 s to final)
    orders = {oid: {"id": oid, "created_at": at(start)} for oid, start in (("early", 0), ("held", 5), ("late", 11))}
    events = {"early": [row(1, "transition", "paid")],
              "held": [row(6, "claim", "processing"), row(15, "transition", "paid")],
              "late": [row(15, "transition", "failed")]}
    faults = [{"kind": "db_outage", "ok": True, "wall": at(10).timestamp()},
              {"kind": "db_outage", "ok": True, "wall": at(12).timestamp()},
              {"kind": "gateway_errors", "ok": False, "wall": at(12).timestamp()}]
    # when
    by_kind = times_to_final_by_fault(faults, orders, events)
    # then each order counts once for the kind, and a fault that did not strike counts for nothing
    assert by_kind == {"db_outage": {"orders": 2, "p50": 4.0, "p99": 10.0, "max": 10.0}}


def test_a_worker_kill_counts_only_the_orders_its_worker_held():
    # given an order claimed before the kill and claimed again after it, and one active but
    # untouched by the kill (a retry chain of its own)
    orders = {oid: {"id": oid, "created_at": at(0)} for oid in ("held", "retrying")}
    events = {"held": [row(1, "claim", "processing"), row(9, "claim", "processing"), row(10, "transition", "paid")],
              "retrying": [row(1, "claim", "processing"), row(30, "transition", "failed")]}
    # when
    by_kind = times_to_final_by_fault([{"kind": "kill_main", "ok": True, "wall": at(2).timestamp()}], orders, events)
    # then
    assert by_kind == {"kill_main": {"orders": 1, "p50": 10.0, "p99": 10.0, "max": 10.0}}
