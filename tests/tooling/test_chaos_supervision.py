"""The chaos harness's supervision: probe counting, its scaled settings, the restart policy, the S1/S2
checks, the report.

Pure pieces only: no worker runs here (the harness runs them; `python -m bench.chaos --ci`).
"""

import io
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bench.chaos.checks import (
    FREEZE_DETECTION_BOUND,
    RECONCILER_BOUND,
    s1_every_frozen_pool_restarted_by_its_liveness_probe,
    s2_no_order_held_hostage_by_a_restart,
)
from bench.chaos.report import print_restarts
from bench.chaos.supervision import CHAOS, PRODUCTION, LivenessProbe, ProbeSettings, RestartPolicy
from devtools.settings import CHAOS_RECONCILE_THRESHOLD_SECONDS, CHAOS_SETTINGS
from payments.ops.liveness import HEARTBEAT_FILE_ENV, HUNG_ENV, INTERVAL_ENV, MAX_AGE_ENV, STALL_ENV

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS = ProbeSettings(interval=1, stall=10, hung=20, max_age=6, period=2, failure_threshold=3, startup_grace=30)
STALE = "heartbeat is 7.0s old (max 6s)"


# -- the probe


def test_a_worker_that_keeps_passing_is_never_restarted():
    probe = LivenessProbe(SETTINGS, started_at=0)
    assert all(probe.observe(None, now=t) is None for t in range(0, 100, 2))


def test_a_booting_worker_without_a_heartbeat_is_not_restarted_within_the_startup_grace():
    probe = LivenessProbe(SETTINGS, started_at=100)
    assert all(probe.observe("no heartbeat file", now=100 + t) is None for t in range(0, 30, 2))


def test_a_worker_that_never_passes_is_restarted_once_the_startup_grace_is_over():
    probe = LivenessProbe(SETTINGS, started_at=100)
    assert probe.observe("no heartbeat file", now=130) == "startup probe: no heartbeat file"


def test_a_started_worker_is_restarted_on_the_third_failure_in_a_row():
    # given: a worker that passed its startup probe
    probe = LivenessProbe(SETTINGS, started_at=0)
    probe.observe(None, now=2)
    # when / then: two failures are tolerated, the third restarts it
    assert probe.observe(STALE, now=4) is None
    assert probe.observe(STALE, now=6) is None
    assert probe.observe(STALE, now=8) == f"{STALE} (3 probes in a row)"


def test_a_pass_between_failures_starts_the_count_again():
    probe = LivenessProbe(SETTINGS, started_at=0)
    probe.observe(None, now=2)
    probe.observe(STALE, now=4)
    probe.observe(STALE, now=6)
    probe.observe(None, now=8)
    assert probe.observe(STALE, now=10) is None
    assert probe.observe(STALE, now=12) is None
    assert probe.observe(STALE, now=14) is not None


def test_the_probe_is_due_once_per_period():
    probe = LivenessProbe(SETTINGS, started_at=10)
    assert probe.due(10)
    probe.observe(None, now=10)
    assert not probe.due(11.9)
    assert probe.due(12)


# -- the restart policy


def test_restart_policy_restarts_up_to_its_burst_within_the_window():
    policy = RestartPolicy()
    assert all(policy.allow("w", t) for t in range(policy.burst))
    assert not policy.allow("w", policy.burst)
    assert policy.allow("w", policy.window_seconds + 1)
    assert policy.allow("other", 0)


# -- the settings and how they scale


def k8s_probes():
    config = next(d for d in yaml.safe_load_all((K8S / "configmap.yaml").read_text()) if d)["data"]
    worker = yaml.safe_load((K8S / "worker-default.yaml").read_text())["spec"]["template"]["spec"]["containers"][0]
    return config, worker["livenessProbe"], worker["startupProbe"]


def test_the_production_reference_is_what_deploy_k8s_configures():
    config, liveness, startup = k8s_probes()
    assert PRODUCTION.interval == float(config["PAYMENTS_WORKER_HEARTBEAT_INTERVAL"])
    assert PRODUCTION.stall == float(config["PAYMENTS_WORKER_STALL_SECONDS"])
    assert PRODUCTION.hung == float(config["CELERY_TASK_TIME_LIMIT"]) + PRODUCTION.stall
    assert PRODUCTION.max_age == float(config["PAYMENTS_WORKER_HEARTBEAT_MAX_AGE"])
    assert PRODUCTION.period == liveness["periodSeconds"]
    assert PRODUCTION.failure_threshold == liveness["failureThreshold"]
    assert PRODUCTION.startup_grace == startup["periodSeconds"] * startup["failureThreshold"]


def test_the_chaos_probe_keeps_productions_proportions_and_the_bootsteps_hung_rule():
    # The heartbeat is refreshed several times within its max age, as in production.
    assert CHAOS.max_age / CHAOS.interval == PRODUCTION.max_age / PRODUCTION.interval
    assert CHAOS.failure_threshold == PRODUCTION.failure_threshold
    assert CHAOS.hung == float(CHAOS_SETTINGS["CELERY_TASK_TIME_LIMIT"]) + CHAOS.stall
    # A stall is longer than any gateway call the pool may be waiting on.
    assert CHAOS.stall > 2 * float(CHAOS_SETTINGS["BRAINTREE_TIMEOUT_SECONDS"])
    assert CHAOS.period < CHAOS.max_age < CHAOS.startup_grace


def test_a_frozen_pool_is_restarted_within_a_few_reconciler_thresholds():
    assert CHAOS.detection_seconds == 10 + 1 + 6 + 3 * 2
    assert CHAOS.detection_seconds < FREEZE_DETECTION_BOUND < 2 * CHAOS_RECONCILE_THRESHOLD_SECONDS


def test_the_worker_env_switches_the_heartbeat_bootstep_on_with_the_chaos_bounds():
    env = CHAOS.worker_env(Path("/run/w/heartbeat"))
    assert env == {HEARTBEAT_FILE_ENV: "/run/w/heartbeat", INTERVAL_ENV: 1, STALL_ENV: 10.0,
                   HUNG_ENV: CHAOS.hung, MAX_AGE_ENV: 6}


# -- S1: a frozen pool led to a liveness restart


def freeze(pid, stopped_at):
    return {"kind": "freeze_pool", "ok": True, "at": 30.0, "pid": pid, "stopped_at": stopped_at}


def restart(cause, killed_at, ready_at=None, pids=(), process="chaos-maint"):
    return {"process": process, "cause": cause, "reason": "r", "exit_code": None, "at": 1.0,
            "killed_at": killed_at, "ready_at": ready_at, "pids_killed": list(pids)}


def test_s1_passes_when_the_liveness_probe_killed_the_frozen_process_in_time():
    result = s1_every_frozen_pool_restarted_by_its_liveness_probe(
        [freeze(42, stopped_at=1000)], [restart("liveness", 1022, 1025, pids=(41, 42))])
    assert result["passed"] and result["checked"] == 1
    assert result["restarted_after_seconds"] == [22.0]


def test_s1_fails_a_freeze_that_no_liveness_restart_answered():
    # given: restarts for exiting, of an older start, and of another process, none the frozen one's
    restarts = [restart("exit", 1010, 1012, pids=(42,)), restart("liveness", 990, 992, pids=(42,)),
                restart("liveness", 1015, 1017, pids=(7,), process="chaos-payments-1")]
    result = s1_every_frozen_pool_restarted_by_its_liveness_probe([freeze(42, stopped_at=1000)], restarts)
    assert not result["passed"]
    assert result["violations"][0]["problem"] == "no liveness restart"


def test_s1_lists_a_liveness_restart_later_than_the_bound_without_failing_it():
    # A broker reconnect during the freeze restarts the stall's clock: late is a figure, not a violation.
    late = FREEZE_DETECTION_BOUND + 1
    result = s1_every_frozen_pool_restarted_by_its_liveness_probe(
        [freeze(42, stopped_at=1000), freeze(43, stopped_at=2000)],
        [restart("liveness", 1000 + late, pids=(42,)), restart("liveness", 2020, pids=(43,))])
    assert result["passed"]
    assert result["later_than_bound"] == [late]


def test_s1_excuses_only_a_freeze_that_a_broker_fault_ended_before_any_restart():
    # given: two freezes without a liveness restart; a broker fault ended the first one's process
    events = [freeze(42, stopped_at=1000), {"kind": "rabbitmq_restart", "ok": True, "ended_frozen_pids": [42]},
              freeze(43, stopped_at=2000)]
    # when
    result = s1_every_frozen_pool_restarted_by_its_liveness_probe(events, [])
    # then
    assert result["ended_by_a_broker_fault"] == [42]
    assert [v["pid"] for v in result["violations"]] == [43]


def test_s1_ignores_other_faults_and_skipped_freezes():
    events = [{"kind": "kill_main", "ok": True}, {"kind": "freeze_pool", "ok": False, "skipped": "no pool"}]
    assert s1_every_frozen_pool_restarted_by_its_liveness_probe(events, [])["checked"] == 0


# -- S2: no order held hostage past the reconciler's bound


def at(seconds):
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def order_with(created, *rows):
    """An order created at `created` and its audit rows as (seconds, to_status)."""
    return {"created_at": at(created), "status": rows[-1][1] if rows else "pending"}, [
        {"created_at": at(t), "to_status": status} for t, status in rows]


def s2(restarts, **orders):
    rows = {oid: order for oid, (order, _) in orders.items()}
    for oid, order in rows.items():
        order["id"] = oid
    events = {oid: trail for oid, (_, trail) in orders.items()}
    return s2_no_order_held_hostage_by_a_restart(restarts, rows, events)


def test_s2_passes_orders_that_rest_within_the_bound_after_the_worker_is_back():
    result = s2([restart("exit", 1000, 1005)],
                waiting=order_with(990, (990, "pending"), (1005 + RECONCILER_BOUND, "paid")),
                done_before=order_with(900, (900, "pending"), (950, "paid")),
                created_after=order_with(1001, (1001, "pending"), (1100, "paid")))
    assert result["passed"] and result["checked"] == 1


def test_s2_fails_an_order_with_no_progress_until_past_the_bound():
    result = s2([restart("exit", 1000, 1005)],
                hostage=order_with(990, (990, "pending"), (1005 + RECONCILER_BOUND + 1, "paid")))
    assert not result["passed"]
    assert result["violations"][0]["rested_seconds_after_back"] == RECONCILER_BOUND + 1


def test_s2_passes_an_order_that_kept_moving_through_its_retries():
    result = s2([restart("liveness", 1000, 1005)],
                retrying=order_with(990, (990, "pending"), (1010, "processing"), (1060, "needs_review")))
    assert result["passed"]


def test_s2_holds_an_order_active_through_two_restarts_to_the_second():
    # given: the worker came back at 1005 and was restarted again (frozen) at 1030
    restarts = [restart("exit", 1000, 1005), restart("liveness", 1030, 1033)]
    result = s2(restarts, through_both=order_with(990, (990, "pending"), (1040, "paid")))
    assert result["passed"]
    # and: without the second restart the same order waited past the first one's bound
    assert not s2(restarts[:1], through_both=order_with(990, (990, "pending"), (1040, "paid")))["passed"]


# -- the report


def test_the_report_lists_restarts_by_cause():
    out = io.StringIO()
    exit_restart = {**restart("exit", 1000, 1001), "exit_code": 1, "reason": "WorkerLostError: Could not start"}
    liveness_restart = {**restart("liveness", 1030, 1033), "reason": STALE}
    print_restarts([exit_restart, liveness_restart, {**liveness_restart, "restart_error": "limit"}], out.write)
    text = out.getvalue()
    assert "3 (exit 1, liveness 2)" in text
    assert "exit (code 1): WorkerLostError: Could not start" in text
    assert f"liveness: {STALE}" in text
    assert "[not restarted: limit]" in text


def test_the_report_says_when_nothing_was_restarted():
    out = io.StringIO()
    print_restarts([], out.write)
    assert ": 0 (none)" in out.getvalue()
