"""The faults a chaos run injects: one handler per kind, looked up in `FAULT_HANDLERS`.

The handlers of the pool faults, which only the supervisor can answer, are in pool_faults.py.

Faults run in two lanes so that all of them fit while orders flow: process faults one after
another, gateway faults one after another, the two lanes at the same time. A handler returns the
details worth logging (or `{"skipped": why}`); the lane loop records them in the fault log.
"""

import random
import threading
import time
import traceback
from collections import Counter

import psycopg

from bench.chaos.pool_faults import PoolFaults
from devtools.db import allow_connections, refuse_connections
from devtools.settings import CHAOS_SETTINGS
from devtools.sim import sale_rule
from payments.core.statuses import OrderStatus


class FaultInjector(PoolFaults):
    def __init__(self, chaos):
        self.chaos = chaos
        self.supervisor = chaos.supervisor
        self.fault_rng = random.Random(chaos.args.seed * 7919 + 1)
        self.sim_rules = {}
        self.rules_lock = threading.Lock()
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
        self.supervisor.going_down(w)
        w.kill_main()
        self.supervisor.in_background(f"restart-{w.name}", self.supervisor.restart_after, w, 1.0)

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
        with self.rules_lock:
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
            # `wall`: when it struck, on the clock of the database's timestamps (time to final by kind).
            entry = {"kind": kind, "at": round(t0 - chaos.t_traffic, 1), "wall": time.time()}
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
            self.supervisor.settle_background()
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
        self.supervisor.going_down(w)
        w.kill_main()
        pause = r.uniform(2, 5)
        self.supervisor.in_background(f"restart-{w.name}", self.supervisor.restart_after, w, pause)
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
            self.supervisor.going_down(w)
            w.terminate(wait=False)
            exited = w.wait(float(CHAOS_SETTINGS["CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"]) + 10)
            shutdown = time.monotonic() - t0
            w.stop(timeout=1)
        finally:
            self.set_rules("process", [])
        restored = "Restoring" in w.log_text(since_start=True)
        self.supervisor.in_background(f"restart-{w.name}", self.supervisor.restart_after, w, 0)
        return {"worker": w.name, "orders_in_sale": in_sale, "warm_exit": exited,
                "shutdown_seconds": round(shutdown, 1), "restored_unacked": restored}

    def redis_restart(self, r):
        redis = self.chaos.procs["redis"]
        self.supervisor.going_down(redis)
        try:
            redis.restart(pause=r.uniform(0.5, 2))
        finally:
            self.supervisor.going_down(redis, False)
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

    def db_outage(self, r):
        """A database failover as its clients see it: every new connection refused for 3-8 s and
        every session of the run's database ended (ALLOW_CONNECTIONS false; only this database)."""
        seconds = r.uniform(3, 8)
        # Sales held at the gateway keep charges in flight when the database goes.
        self.set_rules("process", [sale_rule(kind="latency", latency_ms=500)])
        try:
            self.wait_in_sale(3)
            ended = refuse_connections(self.chaos.db_name)
            time.sleep(seconds)
        finally:
            allow_connections(self.chaos.db_name)
            self.set_rules("process", [])
        return {"seconds": round(seconds, 1), "sessions_ended": ended}

    def beat_stop(self, r):
        beat = self.chaos.procs["beat"]
        down = r.uniform(4, 8)
        self.supervisor.going_down(beat)
        beat.stop(timeout=5)
        self.supervisor.in_background("restart-beat", self.supervisor.restart_after, beat, down)
        return {"down_seconds": round(down, 1)}

    # -- broker faults (RabbitMQ)

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
    "db_outage": FaultInjector.db_outage,                  # the database refuses connections for 3-8 s, its sessions ended
}
FAULT_KINDS = tuple(FAULT_HANDLERS)
GATEWAY_FAULTS = ("gateway_errors", "gateway_hang", "gateway_latency", "gateway_drop")
# Faults that do not apply to a broker (--broker): each broker gets its own restart fault.
BROKER_FAULTS_SKIPPED = {
    "redis": ("rabbitmq_restart", "broker_connection_drop"),
    "rabbitmq": ("redis_restart",),
}
