"""The faults a chaos run injects: one handler per kind, looked up in `FAULT_HANDLERS`.

Faults run in two lanes so that all of them fit while orders flow: process faults one after
another, gateway faults one after another, the two lanes at the same time. A handler returns the
details worth logging (or `{"skipped": why}`); the lane loop records them in the fault log.
"""

import os
import random
import signal
import time
import traceback
from collections import Counter

import psycopg

from bench.chaos.supervision import CHAOS as PROBES
from devtools.settings import CHAOS_SETTINGS
from devtools.sim import sale_rule
from devtools.stack import pid_alive
from payments.core.statuses import OrderStatus


class FaultInjector:
    def __init__(self, chaos):
        self.chaos = chaos
        self.fault_rng = random.Random(chaos.args.seed * 7919 + 1)
        self.sim_rules = {}
        self.frozen_pids = []  # pool processes freeze_pool stopped (the teardown checks they are gone)

    @property
    def sim(self):
        return self.chaos.procs["sim"]

    # -- what the handlers share

    def payment_children(self):
        """`(worker, pid)` of every process running sales: the pool children (prefork), or the
        worker itself when its pool runs sales in threads of the main process."""
        return [(w, pid) for w in self.chaos.workers if w.alive()
                for pid in (w.child_pids() if w.pool == "prefork" else [w.pid])]

    def kill_sales_process(self, w, pid):
        """SIGKILL a process running sales; a threads-pool worker is its own pool, so it is
        restarted (after 1 s, as a supervisor would) instead of forking a new child."""
        if pid != w.pid:
            w.kill_child(pid)
            return
        self.chaos.going_down(w)
        w.kill_main()
        self.chaos.in_background(f"restart-{w.name}", self.chaos.restart_after, w, 1.0)

    def in_sale_orders(self):
        """Orders a worker has claimed and is charging right now (processing, no transaction yet)."""
        return [str(r[0]) for r in self.chaos.query(
            "SELECT id FROM payments_order WHERE status = %s AND transaction_id IS NULL",
            (str(OrderStatus.PROCESSING),))]

    def wait_in_sale(self, timeout):
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                ids = self.in_sale_orders()
                if ids:
                    return ids
                time.sleep(0.1)
        except psycopg.Error as exc:
            self.chaos.log(f"in-sale query failed: {exc!r}")
        return []

    def set_rules(self, lane, rules):
        """Set one lane's simulator fault rules; the simulator gets the union of both lanes."""
        with self.chaos.lock:
            if rules:
                self.sim_rules[lane] = list(rules)
            else:
                self.sim_rules.pop(lane, None)
            merged = [rule for name in sorted(self.sim_rules) for rule in self.sim_rules[name]]
            self.sim.set_faults({"seed": self.fault_rng.getrandbits(31), "rules": merged})

    def rule_count_left(self, kind):
        for rule in self.sim.faults()["rules"]:
            if rule["kind"] == kind:
                return rule.get("count") or 0
        return 0

    # -- the lanes

    def inject_all(self, lane, schedule):
        chaos = self.chaos
        r = random.Random(chaos.args.seed * 7919 + lane)  # one generator per lane: seeded choices
        t_start = time.monotonic()
        for at, kind in schedule:
            while time.monotonic() < t_start + at and not chaos.stop_event.is_set():
                time.sleep(0.05)
            if chaos.stop_event.is_set() or chaos.remaining() < 40:
                chaos.fault_log.append({"kind": kind, "skipped": "deadline"})
                continue
            t0 = time.monotonic()
            entry = {"kind": kind, "at": round(t0 - chaos.t_traffic, 1)}
            try:
                entry.update(self.fault(kind, r) or {})
                entry["ok"] = "skipped" not in entry
            except Exception as exc:
                entry.update(ok=False, error=repr(exc), trace=traceback.format_exc(limit=3))
                chaos.log(f"fault {kind} failed: {exc!r}")
            entry["seconds"] = round(time.monotonic() - t0, 1)
            chaos.fault_log.append(entry)

    def fault(self, kind, r):
        if kind not in GATEWAY_FAULTS:
            # One process fault never hits a process another one is still restarting.
            self.chaos.settle_background()
        return FAULT_HANDLERS[kind](self, r)

    # -- process faults

    def kill_child(self, r):
        children = self.payment_children()
        if not children:
            return {"skipped": "no pool children alive"}
        w, pid = r.choice(children)
        in_sale = len(self.in_sale_orders())
        self.kill_sales_process(w, pid)
        return {"worker": w.name, "pid": pid, "in_sale": in_sale}

    def kill_main(self, r):
        alive = [w for w in self.chaos.workers if w.alive()]
        if not alive:
            return {"skipped": "no worker alive"}
        w = r.choice(alive)
        pid = w.pid
        self.chaos.going_down(w)
        w.kill_main()
        pause = r.uniform(2, 5)
        self.chaos.in_background(f"restart-{w.name}", self.chaos.restart_after, w, pause)
        return {"worker": w.name, "pid": pid, "down_seconds": round(pause, 1)}

    def kill_after_commit(self, r):
        self.set_rules("process", [sale_rule(kind="latency", latency_ms=1500)])
        try:
            in_sale = self.wait_in_sale(5)
            time.sleep(0.3)
            children = self.payment_children()
            if not children:
                return {"skipped": "no pool children alive"}
            w, pid = r.choice(children)
            self.kill_sales_process(w, pid)
            t_kill = time.time()
            detail = {"worker": w.name, "pid": pid, "orders_in_sale": in_sale}
            time.sleep(1.8)  # the held sales commit now, with their worker gone
        finally:
            self.set_rules("process", [])
        committed_later = [t for t in self.sim.transactions() if t.get("order_id") in set(in_sale)]
        detail["ledger_sales_of_those_orders"] = len(committed_later)
        detail["kill_time"] = t_kill
        return detail

    def sigterm_deploy(self, r):
        alive = [w for w in self.chaos.workers if w.alive()]
        if not alive:
            return {"skipped": "no worker alive"}
        w = r.choice(alive)
        self.set_rules("process", [sale_rule(kind="latency", latency_ms=1500)])
        try:
            in_sale = self.wait_in_sale(5)
            t0 = time.monotonic()
            self.chaos.going_down(w)
            w.terminate(wait=False)
            exited = w.wait(float(CHAOS_SETTINGS["CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"]) + 10)
            shutdown = time.monotonic() - t0
            w.stop(timeout=1)
        finally:
            self.set_rules("process", [])
        restored = "Restoring" in w.log_text(since_start=True)
        self.chaos.in_background(f"restart-{w.name}", self.chaos.restart_after, w, 0)
        return {"worker": w.name, "orders_in_sale": in_sale, "warm_exit": exited,
                "shutdown_seconds": round(shutdown, 1), "restored_unacked": restored}

    def redis_restart(self, r):
        redis = self.chaos.procs["redis"]
        self.chaos.going_down(redis)
        try:
            redis.restart(pause=r.uniform(0.5, 2))
        finally:
            self.chaos.going_down(redis, False)
        return self.end_freezes_after_reconnect()

    def pg_terminate(self, r):
        # Held sales keep tasks (and their open DB sessions) in flight while we terminate.
        self.set_rules("process", [sale_rule(kind="latency", latency_ms=800)])
        terminated = []
        try:
            end = time.monotonic() + 2.5
            while time.monotonic() < end:
                rows = self.chaos.query(
                    "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name LIKE 'chaos-worker-%%' "
                    "AND pid <> pg_backend_pid()", (self.chaos.db_name,))
                terminated += [name for name, ok in rows if ok]
                time.sleep(0.25)
        finally:
            self.set_rules("process", [])
        return {"terminated": len(terminated), "by_app": dict(Counter(terminated))}

    def beat_stop(self, r):
        beat = self.chaos.procs["beat"]
        down = r.uniform(4, 8)
        self.chaos.going_down(beat)
        beat.stop(timeout=5)
        self.chaos.in_background("restart-beat", self.chaos.restart_after, beat, down)
        return {"down_seconds": round(down, 1)}

    # -- broker faults (RabbitMQ) and worker start-up

    def rabbitmq_restart(self, r):
        """The broker came back empty: every connection closed, every queue and message gone.

        The server is shared, so it is never stopped: deleting and recreating our vhost does to
        our clients what a restart of a broker without durable state would do.
        """
        vhost = self.chaos.vhost
        pause = r.uniform(0.5, 2)
        vhost.delete()
        time.sleep(pause)
        vhost.create()
        return {"vhost": vhost.name, "down_seconds": round(pause, 1), **self.end_freezes_after_reconnect()}

    def broker_connection_drop(self, r):
        """Every client connection of our vhost closed by the broker; queues and messages kept."""
        vhost = self.chaos.vhost
        before = len(vhost.connections())
        vhost.close_connections()
        return {"connections_closed": before, **self.end_freezes_after_reconnect()}

    def kill_child_at_startup(self, r):
        """Restart `chaos-maint` and SIGKILL its pool process the moment it shows, before `ready.`.

        The payments workers run the threads pool and have no pool process; `chaos-maint`
        (default,maintenance: the reconciler) is prefork with one. Its pool is polled every 2 ms
        from the moment the main process exists, so the kill lands as the pool starts: Celery
        5.6's first loop then finds a dead pool process (`did_start_ok`, celery/worker/loops.py),
        logs `WorkerLostError('Could not start worker processes')` and the main process exits
        about 20 ms after its `ready.` line; a kill that lands earlier is replaced by the pool and
        the worker runs on. Measured on the 2-core machine: 12 of 15 kills logged the error (8 of
        10 in chaos runs, 4 of 5 starts of a bare worker), every one 0.03–0.13 s before `ready.`;
        the three that did not landed 0.14–0.26 s before it. The
        worker is left marked down for 3 s to read the outcome, then the supervisor restarts it
        (cause `exit`) or, if it stays up without executing, its liveness probe does; meanwhile
        nothing reconciles, and no order may wait past the reconciler's bound (S2).
        """
        w = self.chaos.procs["chaos-maint"]
        self.await_frozen()  # a restart here would end a freeze before its probe had a say
        self.chaos.going_down(w)
        try:
            w.stop(timeout=3)
            w.start(wait=False)
            pid, killed_at = self.kill_first_pool_process(w, timeout=60)
            ready_at = self.wait_ready_or_exit(w, timeout=60)
            time.sleep(3)
            text, alive = w.log_text(since_start=True), w.alive()
        finally:
            # From here on the worker is the supervisor's business, as in production.
            self.chaos.going_down(w, False)
        relative = round(killed_at - ready_at, 3) if pid and ready_at else None
        return {"worker": w.name, "pid": pid, "killed_relative_to_ready_seconds": relative,
                "worker_lost_error": "Could not start worker processes" in text, "main_alive_3s_later": alive}

    @staticmethod
    def kill_first_pool_process(w, timeout):
        """SIGKILL the first pool process `w` forks; (pid, wall-clock time) or (None, None)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and w.alive():
            for pid in w.pool_pids():
                if w.kill_child(pid):
                    return pid, time.time()
            time.sleep(0.002)
        return None, None

    @staticmethod
    def wait_ready_or_exit(w, timeout):
        """Wall-clock time `w` logged `ready.` (to ~5 ms), or None if it exited or never did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if w.is_ready():
                return time.time()
            if not w.alive():
                return time.time() if w.is_ready() else None
            time.sleep(0.005)
        return None

    def freeze_pool(self, r):
        """SIGSTOP the pool process of `chaos-maint`: a worker that consumes without executing.

        The process is stopped while idle (see `idle_pool_process`). The main process stays up and
        keeps reserving reconciler runs its pool never starts, so no exit tells the supervisor
        anything: the heartbeat bootstep sees a request waiting with a free slot past the stall
        bound and stops touching the heartbeat, and the liveness probe must restart the worker
        (SIGKILL of main and the stopped process), S1; within `checks.FREEZE_DETECTION_BOUND` unless
        a broker reconnect hands the waiting request back and the stall is timed again. The
        lane goes on, since no other process fault restarts chaos-maint; the next freeze or
        startup kill and the heal wait for the frozen process to be gone first, and the teardown
        makes sure no stopped process outlives the run.
        """
        w = self.chaos.procs["chaos-maint"]
        self.await_frozen()
        pid = self.idle_pool_process(w, timeout=10)
        if pid is None:
            return {"skipped": "chaos-maint has no idle pool process"}
        os.kill(pid, signal.SIGSTOP)
        self.frozen_pids.append(pid)
        return {"worker": w.name, "pid": pid, "stopped_at": time.time()}

    @staticmethod
    def idle_pool_process(w, timeout):
        """A pool process of `w` waiting for its next job, or None.

        Only an idle one: the prefork pool's hard time limit kills a process stopped mid-task and
        forks a new one, which would heal the freeze before the probe has anything to see. An idle
        process blocks reading its job pipe (/proc/<pid>/wchan `anon_pipe_read`, `pipe_read` on
        older kernels); a reconciler run waits on its database socket instead.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in w.pool_pids():
                try:
                    with open(f"/proc/{pid}/wchan") as fh:
                        if "pipe_read" in fh.read():
                            return pid
                except OSError:
                    continue
            time.sleep(0.005)
        return None

    def await_frozen(self):
        """Until every process freeze_pool stopped is gone and its worker's restart is over
        (bounded past S1's bound: S1 judges)."""
        deadline = time.monotonic() + PROBES.detection_seconds + 15
        while time.monotonic() < deadline and any(pid_alive(pid) for pid in self.frozen_pids):
            time.sleep(0.5)
        with self.chaos.supervising:
            pass

    def end_freezes_after_reconnect(self):
        """SIGKILL the pool process a freeze_pool stopped, if one is still stopped; the pids killed.

        A broker fault makes every worker reconnect, and Celery's consumer discards what was
        waiting for the pool when it does (`Consumer.on_close`: `reserved_requests.clear()`, then
        `AsynPool.flush()` drops unaccepted jobs; the broker redelivers them). A chaos run once
        saw the worker take nothing for its frozen pool after that, so nothing waited and the
        probe had nothing to see: no order is held by such a worker, and the freeze can no longer
        be judged. The pool replaces the killed process, as its time limit would; S1 excuses the
        freeze and reports it.
        """
        ended = self.kill_frozen()
        return {"ended_frozen_pids": ended} if ended else {}

    def kill_frozen(self):
        """SIGKILL every process freeze_pool stopped that is still there; their pids."""
        killed = []
        for pid in self.frozen_pids:
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    continue
        return killed

    # -- gateway faults

    def gateway_errors(self, r):
        status, window = r.choice((503, 429)), r.uniform(3, 5)
        self.set_rules("gateway", [{"kind": "error", "status": status, "rate": 0.8}])
        time.sleep(window)
        self.set_rules("gateway", [])
        return {"status": status, "seconds": round(window, 1)}

    def gateway_hang(self, r):
        seconds = CHAOS_SETTINGS["BRAINTREE_TIMEOUT_SECONDS"] * 2
        self.set_rules("gateway", [sale_rule(kind="hang", seconds=seconds, count=2)])
        time.sleep(4)
        fired = 2 - self.rule_count_left("hang")
        self.set_rules("gateway", [])
        return {"hang_seconds": seconds, "hung_sales": fired}

    def gateway_latency(self, r):
        latency, window = r.uniform(300, 800), r.uniform(3, 6)
        self.set_rules("gateway", [{"kind": "latency", "latency_ms": latency, "jitter_ms": 300}])
        time.sleep(window)
        self.set_rules("gateway", [])
        return {"latency_ms": round(latency), "seconds": round(window, 1)}

    def gateway_drop(self, r):
        self.set_rules("gateway", [sale_rule(kind="drop", count=2)])
        time.sleep(4)
        fired = 2 - self.rule_count_left("drop")
        self.set_rules("gateway", [])
        return {"dropped_sales": fired}


# Kind -> handler. The order is part of the seeded schedule: keep it, append new kinds at the end.
FAULT_HANDLERS = {
    "kill_child": FaultInjector.kill_child,                # SIGKILL one pool process of a payments worker
    "kill_main": FaultInjector.kill_main,                  # SIGKILL a worker's main process (node loss), restart after a pause
    "kill_after_commit": FaultInjector.kill_after_commit,  # SIGKILL a pool process while its sale is held at the
                                                           # gateway: the gateway records the sale after the worker is dead
    "sigterm_deploy": FaultInjector.sigterm_deploy,        # SIGTERM a worker during a sale (warm shutdown), then restart it
    "redis_restart": FaultInjector.redis_restart,          # broker crash without persistence: every queued message is lost
    "gateway_errors": FaultInjector.gateway_errors,        # a burst of 503 or 429 answers
    "gateway_hang": FaultInjector.gateway_hang,            # sales held past the client timeout (committed afterwards)
    "gateway_latency": FaultInjector.gateway_latency,      # added latency with jitter
    "gateway_drop": FaultInjector.gateway_drop,            # commit the sale, then drop the connection without an answer
    "pg_terminate": FaultInjector.pg_terminate,            # pg_terminate_backend of the workers' database sessions
    "beat_stop": FaultInjector.beat_stop,                  # beat down for a while, then restarted
    "rabbitmq_restart": FaultInjector.rabbitmq_restart,    # RabbitMQ back empty: our vhost deleted and recreated
    "broker_connection_drop": FaultInjector.broker_connection_drop,  # RabbitMQ closes every connection of our vhost
    "kill_child_at_startup": FaultInjector.kill_child_at_startup,    # restart chaos-maint, SIGKILL its pool process as it starts
    "freeze_pool": FaultInjector.freeze_pool,              # SIGSTOP chaos-maint's pool process: only the liveness probe sees it
}
FAULT_KINDS = tuple(FAULT_HANDLERS)
GATEWAY_FAULTS = ("gateway_errors", "gateway_hang", "gateway_latency", "gateway_drop")
# Faults that do not apply to a broker (--broker): each broker gets its own restart fault.
BROKER_FAULTS_SKIPPED = {
    "redis": ("rabbitmq_restart", "broker_connection_drop"),
    "rabbitmq": ("redis_restart",),
}
