"""After a chaos run: read the orders, the audit trail, the ledger and the API; check I1–I9, S1–S2."""

from collections import Counter, defaultdict

from bench.chaos.manual_capture import read_capture_columns
from bench.chaos.supervision import CHAOS as PROBES
from devtools import invariants
from devtools.db import AUDIT_LOG
from devtools.ledger import sales, successful_sales
from devtools.settings import CHAOS_RECONCILE_INTERVAL_SECONDS, CHAOS_RECONCILE_THRESHOLD_SECONDS
from devtools.stats import percentile
from payments.core.statuses import RESTING_STATUSES

# How late after a freeze_pool the liveness restart should come: one reconciler interval for a
# run to be handed to the stopped pool, the probe's own worst case from there, and 2 s for the
# supervisor's tick and the loaded machine's scheduling.
FREEZE_DETECTION_BOUND = CHAOS_RECONCILE_INTERVAL_SECONDS + PROBES.detection_seconds + 2
# After a restarted worker is ready, the reconciler's bound: its threshold, one interval for its
# next run to come round, one for the order it re-sent to be taken.
RECONCILER_BOUND = CHAOS_RECONCILE_THRESHOLD_SECONDS + 2 * CHAOS_RECONCILE_INTERVAL_SECONDS

ACCEPTED = invariants.ACCEPTED


def read_orders(chaos):
    orders = {}
    for row in chaos.query(
            "SELECT id, status, amount, transaction_id, idempotency_key, created_at, claims, "
            "gateway_status, error_codes, failure_reason FROM payments_order"):
        oid = str(row[0])
        orders[oid] = dict(id=oid, status=row[1], amount=row[2], transaction_id=row[3], key=row[4],
                           created_at=row[5], claims=row[6], gateway_status=row[7],
                           error_codes=row[8], failure_reason=row[9])
    return orders


def read_events(chaos):
    """order id -> its audit rows, oldest first."""
    events = defaultdict(list)
    for row in chaos.query(
            "SELECT id, order_id, action, from_status, to_status, outcome, transaction_id, created_at, detail "
            f"FROM {AUDIT_LOG.table} ORDER BY id"):
        events[str(row[1])].append(dict(id=row[0], action=row[2], from_status=row[3], to_status=row[4],
                                        outcome=row[5], transaction_id=row[6], created_at=row[7], detail=row[8]))
    return events


def fetch_api_orders(chaos):
    """Every order as the API shows it (the paginated list); None if the list is unavailable."""
    orders, path = {}, "/api/orders/?page=1"
    for _ in range(1000):
        status, _, data = chaos.api("GET", path, timeout=30)
        if status != 200 or not isinstance(data, dict):
            chaos.warn(f"GET {path} answered {status}; API cross-check skipped")
            return None
        for o in data.get("results", []):
            orders[o["id"]] = o
        nxt = data.get("next")
        if not nxt:
            return orders
        path = nxt[nxt.index("/api/"):]
    return orders


def times_to_rest(orders, events):
    """Seconds from each order's creation to its first audit row entering a resting status."""
    out = []
    for o in orders.values():
        end = next((a["created_at"] for a in events.get(o["id"], []) if a["to_status"] in RESTING_STATUSES), None)
        if end is not None:
            out.append((end - o["created_at"]).total_seconds())
    return out


# Faults that take a worker's claims with it: their figure is over the orders the worker held.
WORKER_KILLS = frozenset({"kill_child", "kill_main", "kill_after_commit"})


def times_to_final_by_fault(fault_log, orders, events):
    """Per fault kind: p50/p99/max seconds from creation to a resting status of the orders it hit;
    each order counts once per kind.

    A worker kill hits the orders the dead worker held: claimed before it struck, and claimed
    again or re-sent by the reconciler after it. Any other fault hits the orders active (created,
    not yet resting) when it struck, whatever else happened to them.
    """
    rested, trails = {}, {}
    for oid, o in orders.items():
        trail = events.get(oid, [])
        end = next((a["created_at"] for a in trail if a["to_status"] in RESTING_STATUSES), None)
        if end is not None:
            rested[oid] = (o["created_at"].timestamp(), end.timestamp())
            trails[oid] = [(a["created_at"].timestamp(), a["action"]) for a in trail]

    def held_by_the_dead(oid, at):
        claimed_before = any(t <= at and action == "claim" for t, action in trails[oid])
        taken_again = any(t > at and action in ("claim", "requeue") for t, action in trails[oid])
        return claimed_before and taken_again

    hit = defaultdict(set)
    for fault in fault_log:
        if not fault.get("ok") or "wall" not in fault:
            continue
        at = fault["wall"]
        active = (oid for oid, (start, end) in rested.items() if start <= at < end)
        if fault["kind"] in WORKER_KILLS:
            active = (oid for oid in active if held_by_the_dead(oid, at))
        hit[fault["kind"]].update(active)
    out = {}
    for kind, oids in sorted(hit.items()):
        values = [rested[oid][1] - rested[oid][0] for oid in oids]
        out[kind] = {"orders": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
                     "max": max(values, default=None)}
    return out


def diagnose(inv, orders, events, ledger):
    """Row, audit trail and ledger entries of every violating order (money first, 30 per invariant)."""
    bad_orders = []
    for key in ("I1", "I3", "I5", "I2", "I4"):
        ids = [x.get("order_id") or (x.get("orders") or [None])[0] for x in inv[key]["violations"]]
        ids = [i for i in dict.fromkeys(ids) if i and i not in bad_orders]
        bad_orders += ids[:30]
    return {oid: {"order": orders.get(oid), "audit": events.get(oid, []),
                  "ledger": [t for t in ledger if t.get("order_id") == oid]}
            for oid in bad_orders}


def api_mismatches(orders, api_orders):
    mismatch = []
    for oid, o in orders.items():
        a = api_orders.get(oid)
        if a is None or a.get("status") != o["status"] or (a.get("transaction_id") or None) != o["transaction_id"]:
            mismatch.append({"order_id": oid, "db": o["status"], "api": a and a.get("status")})
    return mismatch


def check(chaos, plan):
    """The run's result: the invariants, the figures, the faults, and a diagnosis of what failed."""
    orders = read_capture_columns(chaos, read_orders(chaos))
    events = read_events(chaos)
    ledger = chaos.procs["sim"].transactions()
    api_orders = fetch_api_orders(chaos)
    all_sales = sales(ledger)
    accepted_ids = {r["order_id"] for p in plan for r in p.responses if r["status"] in ACCEPTED}
    # Only groups that were sent: a run cut short by its deadline is reported as incomplete.
    groups = [{"key": p.key, "responses": p.responses} for p in plan if p.copies > 1 and p.responses]
    inv = {
        "I1": invariants.i1_at_most_one_successful_sale_per_order(ledger),
        "I2": invariants.i2_every_accepted_order_rests(orders, accepted_ids),
        "I3": invariants.i3_sales_and_paid_orders_match(ledger, orders),
        "I4": invariants.i4_status_never_goes_backwards(orders, events),
        "I5": invariants.i5_one_order_per_idempotency_key(groups, orders, ledger),
    }
    after_sale = after_sale_checks(chaos, orders, events, ledger)
    inv.update(after_sale.pop("invariants"))
    lane = getattr(chaos, "manual_capture", None)
    if lane is not None:
        capture_inv, manual_capture = lane.checks(orders, ledger)
        inv.update(capture_inv)
    inv.update(
        S1=s1_every_frozen_pool_restarted_by_its_liveness_probe(chaos.fault_log, chaos.supervisor.restarts),
        S2=s2_no_order_held_hostage_by_a_restart(chaos.supervisor.restarts, orders, events),
    )
    ttt = times_to_rest(orders, events)
    mismatch = api_mismatches(orders, api_orders) if api_orders is not None else []
    responses = [r for p in plan for r in p.responses]
    order_kind = {r["order_id"]: p.kind for p in plan for r in p.responses if r["order_id"]}
    kind_outcome = defaultdict(Counter)
    for oid, kind in order_kind.items():
        if oid in orders:
            kind_outcome[kind][orders[oid]["status"]] += 1
    # The saved-card lane: orders charged on a reusable token, where a resale is a second charge.
    saved_ids = {r["order_id"] for p in plan if p.saved for r in p.responses if r["order_id"]}
    fault_counts = Counter(e["kind"] for e in chaos.fault_log if e.get("ok"))
    chaos.complete = (all(p.responses for p in plan) and len(chaos.fault_log) == chaos.n_faults
                      and not any(e.get("skipped") == "deadline" for e in chaos.fault_log))
    latencies = [r["latency"] for r in responses]
    return {
        "passed": all(i["passed"] for i in inv.values()),
        "complete": chaos.complete,
        "quiet": chaos.quiet,
        "invariants": inv,
        "orders": {"planned": len(plan), "submissions": len(responses), "in_database": len(orders),
                   "by_status": dict(Counter(o["status"] for o in orders.values())),
                   "by_kind": {k: dict(c) for k, c in sorted(kind_outcome.items())},
                   "saved_card": {"orders": len(saved_ids),
                                  "by_status": dict(Counter(orders[o]["status"] for o in saved_ids if o in orders))}},
        "time_to_terminal_seconds": {"p50": percentile(ttt, 0.5), "p99": percentile(ttt, 0.99),
                                     "max": max(ttt) if ttt else None, "count": len(ttt)},
        "time_to_terminal_by_fault": times_to_final_by_fault(chaos.fault_log, orders, events),
        "api": {"answers": dict(Counter(str(r["status"]) for r in responses)),
                "latency_p50": percentile(latencies, 0.5),
                "latency_p99": percentile(latencies, 0.99),
                "latency_max": max(latencies, default=None),
                "non_2xx_examples": [r for r in responses if r["status"] not in invariants.ACCEPTED_OR_IN_FLIGHT][:10],
                "status_mismatch_with_db": mismatch[:20],
                "status_mismatch_count": len(mismatch) if api_orders is not None else None},
        "gateway": {"ledger_entries": len(ledger), "sales": len(all_sales),
                    "successful_sales": len(successful_sales(ledger)),
                    "by_status": dict(Counter(t.get("status") for t in all_sales))},
        "faults": {"planned": chaos.n_faults, "injected": dict(sorted(fault_counts.items())),
                   "events": chaos.fault_log},
        "supervisor_restarts": chaos.supervisor.restarts,
        "after_sale": after_sale,
        "manual_capture": manual_capture if lane is not None else None,
        "diagnosis": diagnose(inv, orders, events, ledger),
    }


def _result(name, checked, violations, **extra):
    """The shape of devtools.invariants' results, for the harness's own checks."""
    return {"name": name, "checked": checked, "violations": violations, **extra, "passed": not violations}


def s1_every_frozen_pool_restarted_by_its_liveness_probe(fault_events, restarts, bound=FREEZE_DETECTION_BOUND):
    """S1: a pool that freeze_pool stopped was SIGKILLed by a liveness restart.

    No process exits when a pool is frozen, so a freeze that fired without one is a supervisor that
    cannot see a worker which consumes without executing. How long it took is a figure, and a
    restart later than `bound` is listed but not a violation: a broker reconnect during the freeze
    hands the waiting request back, and the stall is measured again from the next one. A freeze
    that a broker fault ended first (`ended_frozen_pids`, see FaultInjector.end_freezes_after_reconnect)
    is excused and counted: after the reconnect nothing was left waiting for the probe to see.
    """
    freezes = [e for e in fault_events if e["kind"] == "freeze_pool" and e.get("ok")]
    ended_by_broker = {pid for e in fault_events for pid in e.get("ended_frozen_pids", ())}
    violations, detected, excused = [], [], []
    for fault in freezes:
        restart = next((r for r in restarts if r["cause"] == "liveness" and fault["pid"] in r.get("pids_killed", ())
                        and r["killed_at"] >= fault["stopped_at"]), None)
        if restart is not None:
            detected.append(round(restart["killed_at"] - fault["stopped_at"], 1))
        elif fault["pid"] in ended_by_broker:
            excused.append(fault["pid"])
        else:
            violations.append({"fault_at": fault["at"], "pid": fault["pid"], "problem": "no liveness restart"})
    return _result("every frozen pool was restarted by its liveness probe", len(freezes), violations,
                   restarted_after_seconds=detected, later_than_bound=[x for x in detected if x > bound],
                   ended_by_a_broker_fault=excused)


def s2_no_order_held_hostage_by_a_restart(restarts, orders, events, bound=RECONCILER_BOUND):
    """S2: every order active when the supervisor killed or lost a process rested, or moved on, within
    `bound` seconds of that process being back.

    Moving on is any audit row (a claim, a sale attempt, a retry's search) between the return and
    the bound: an order in a retry chain is not waiting for anyone. An order with neither was
    forgotten past the point where the reconciler must have re-sent it. An order active through
    several restarts is held to the last one (a worker frozen right after its restart is a second
    outage, not the first one's fault).
    """
    back_again = [r for r in restarts if r.get("ready_at")]
    violations, checked = [], 0
    for oid, order in orders.items():
        trail = [(row["created_at"].timestamp(), row["to_status"]) for row in events.get(oid, [])]
        rested = next((t for t, status in trail if status in RESTING_STATUSES), None)
        through = [r for r in back_again if order["created_at"].timestamp() < r["killed_at"]
                   and (rested is None or rested > r["killed_at"])]
        if not through:
            continue
        checked += 1
        last = max(through, key=lambda r: r["ready_at"])
        back, deadline = last["ready_at"], last["ready_at"] + bound
        if (rested is not None and rested <= deadline) or any(back <= t <= deadline for t, _ in trail):
            continue
        violations.append({"order_id": oid, "process": last["process"], "cause": last["cause"],
                           "restart_at": last["at"], "status": order["status"],
                           "rested_seconds_after_back": None if rested is None else round(rested - back, 1)})
    return _result("no order held past the reconciler's bound by a supervisor restart", checked, violations)


def read_refunds(chaos):
    refunds = {}
    for row in chaos.query("SELECT id, order_id, status, amount, kind, transaction_id FROM payments_refund"):
        rid = str(row[0])
        refunds[rid] = dict(id=rid, order_id=str(row[1]), status=row[2], amount=row[3], kind=row[4],
                            transaction_id=row[5])
    return refunds


def after_sale_checks(chaos, orders, events, ledger):
    """I6–I9 over the refund rows, the ledger's credits and voids, and the dispute webhooks posted."""
    lane = getattr(chaos, "after_sale", None)
    refunds = read_refunds(chaos)
    sale_of = {oid: o["transaction_id"] for oid, o in orders.items() if o["transaction_id"]}
    dispute_events = {oid: [r["detail"] for r in rows if r["action"] == "dispute"] for oid, rows in events.items()}
    webhooks = lane.dispute_webhooks if lane else []
    inv = {
        "I6": invariants.i6_refunds_never_exceed_the_sale(ledger, refunds, orders),
        "I7": invariants.i7_no_refund_charged_twice(ledger, refunds),
        "I8": invariants.i8_every_gateway_refund_on_one_row(
            ledger, refunds, sale_of,
            canceled_sales={o["transaction_id"] for o in orders.values() if o["status"] == "canceled"}),
        "I9": invariants.i9_every_dispute_webhook_reflected_once(webhooks, dispute_events, sale_of),
    }
    return {
        "invariants": inv,
        "refunds_by_status": dict(Counter(f"{r['kind'] or '-'}:{r['status']}" for r in refunds.values())),
        "refund_answers": dict(Counter(f"{x['group']}:{x['status']}" for x in (lane.responses if lane else []))),
        "webhook_answers": dict(Counter(str(s) for s in (lane.webhook_answers if lane else []))),
        "lane_complete": bool(lane and lane.complete),
    }
