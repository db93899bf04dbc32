"""The chaos run: start the stack, send the orders while the faults strike, heal, wait for quiet.

The pieces: `stack` (the processes), `traffic` (the orders), `faults` and `pool_faults` (what
strikes), `supervision` (restarts, as systemd/Kubernetes would), `after_sale` (refunds, voids,
disputes on the quiet stack), `checks` (the invariants) and `report`.
"""

import random
import sys
import threading
import time

import psycopg

from bench.chaos.checks import check
from bench.chaos.manual_capture import ManualCaptureLane
from bench.chaos.faults import BROKER_FAULTS_SKIPPED, FAULT_KINDS, GATEWAY_FAULTS, FaultInjector
from bench.chaos.plan import plan_faults, plan_orders, plan_soak_faults
from bench.chaos.stack import PROCESSES, WORKERS, ChaosStack
from bench.chaos.supervision import Supervisor
from bench.chaos.traffic import Traffic
from bench.procstat import proc_rss_kib
from devtools.stack import child_pids
from devtools.settings import CHAOS_RECONCILE_INTERVAL_SECONDS, CHAOS_RECONCILE_THRESHOLD_SECONDS, CHAOS_SETTINGS
from payments.core.statuses import ACTIVE_STATUSES, RESTING_STATUSES, OrderStatus


def now():
    return time.monotonic()


class Chaos(ChaosStack):
    steps = ("run",)

    def __init__(self, args):
        super().__init__(args)
        self.rng = random.Random(args.seed)
        self.fault_log = []
        self.phase = "setup"
        self.n_faults = 0
        self.quiet = False
        self.complete = False
        self.plan = []
        self.stop_event = threading.Event()  # the fault lanes stop injecting (deadline near)
        self.supervisor = Supervisor(self, PROCESSES, WORKERS)
        self.traffic = Traffic(self)
        self.faults = FaultInjector(self)

    def log(self, msg):
        self.clear_progress()
        super().log(msg)

    # -- the run

    def run(self):
        """Start the stack, send the traffic while the faults strike, heal, wait for quiet."""
        args = self.args
        plan = self.plan = plan_orders(args.orders, self.rng)
        repeats = args.fault_repeats or max(1, round(args.seconds / 45))
        kinds = [k for k in FAULT_KINDS if k not in set(args.skip_fault) and k not in BROKER_FAULTS_SKIPPED[self.broker]
                 and (not args.fault or k in args.fault)]
        lane_rng = random.Random(args.seed + 1)
        if args.soak:
            # One storm over every kind; each fault goes to its lane (a lane's faults never overlap).
            storm = plan_soak_faults(args.seconds, lane_rng, kinds)
            lanes = [[e for e in storm if e[1] not in GATEWAY_FAULTS], [e for e in storm if e[1] in GATEWAY_FAULTS]]
        else:
            lanes = [plan_faults(args.seconds, repeats, lane_rng, [k for k in kinds if k not in GATEWAY_FAULTS]),
                     plan_faults(args.seconds, repeats, lane_rng, [k for k in kinds if k in GATEWAY_FAULTS])]
        self.n_faults = sum(map(len, lanes))
        self.phase = "start"
        self.start_stack()
        self.memory = {"start": self.memory_now()}
        self.saved_cards = self.traffic.save_cards(plan, args.saved_share, args.saved_cards)
        self.manual_capture = ManualCaptureLane(self, getattr(args, "manual_share", 0))
        self.manual_capture.mark(plan)
        self.manual_capture.start()
        self.t_traffic = now()
        submitter = threading.Thread(target=self.traffic.submit_all, args=(plan,), name="submit", daemon=True)
        injectors = [threading.Thread(target=self.faults.inject_all, args=(i, lane), name=f"faults-{i}", daemon=True)
                     for i, lane in enumerate(lanes)]
        threading.Thread(target=self.supervisor.loop, name="supervisor", daemon=True).start()
        submitter.start()
        if args.no_faults:
            injectors, self.n_faults = [], 0
        for injector in injectors:
            injector.start()
        total = len(plan)
        while submitter.is_alive() or any(i.is_alive() for i in injectors):
            self.progress(total, self.status_counts())
            if self.remaining() < 35:
                self.stop_event.set()
            time.sleep(1)
            self.check_deadline()
        self.t_traffic_end = now()
        self.phase = "heal"
        self.heal()
        self.phase = "quiet"
        self.wait_for_quiet(total)
        # The authorizations still undecided are decided now; their captures and cancels land.
        self.manual_capture.finish()
        self.memory["end"] = self.memory_now()
        self.phase = "refunds"
        # After the sale: refunds, voids, settlement races and webhooks on the quiet stack.
        from bench.chaos.after_sale import AfterSaleLane

        self.after_sale = AfterSaleLane(self, size=min(40, max(8, len(plan) // 3)))
        self.after_sale.run()
        self.phase = "check"

    def heal(self):
        """Clear gateway faults and bring back any process a fault left down."""
        self.supervisor.settle_background()
        self.faults.await_frozen()
        try:
            self.procs["sim"].set_faults({"rules": []})
        except Exception as exc:
            self.warn(f"could not clear simulator faults: {exc!r}")
        with self.supervisor.pass_lock:
            for name in PROCESSES:
                proc = self.procs.get(name)
                if proc is not None and name != "sim" and not proc.alive():
                    self.warn(f"{name} was down after the fault phase; restarting it")
                    proc.stop(timeout=1)
                    proc.start(wait=True)

    def wait_for_quiet(self, total):
        """Until no order is active and nothing changed for a while (bounded by --quiet-timeout)."""
        quiet_budget = min(self.args.quiet_timeout, self.remaining() - 20)
        quiet_end = now() + quiet_budget
        stable_since, last_sig = None, None
        self.quiet = False
        while now() < quiet_end:
            counts = self.status_counts()
            self.progress(total, counts)
            active = sum(counts.get(s, 0) for s in ACTIVE_STATUSES)
            try:
                ledger_n = len(self.procs["sim"].transactions())
            except Exception:
                ledger_n = -1
            sig = (tuple(sorted(counts.items())), ledger_n)
            # A couple of seconds of silence so a stray redelivered task would show up; with
            # orders parked in needs_review, long enough for the reconciler's recheck of them
            # (threshold + two intervals) to have adopted a sale that landed late.
            silence = 3
            if counts.get(OrderStatus.NEEDS_REVIEW, 0):
                silence = CHAOS_RECONCILE_THRESHOLD_SECONDS + 2 * CHAOS_RECONCILE_INTERVAL_SECONDS + 1
            if active == 0 and sig == last_sig:
                stable_since = stable_since or now()
                if now() - stable_since >= silence:
                    self.quiet = True
                    break
            else:
                stable_since = None
            last_sig = sig
            time.sleep(1)
        self.quiet_seconds = now() - self.t_traffic_end
        self.clear_progress()
        self.log(f"quiet={self.quiet} {self.quiet_seconds:.0f}s after the traffic phase")

    def memory_now(self):
        """RSS in MiB of each process of the stack (a prefork worker with its pool)."""
        out = {}
        for name, proc in self.procs.items():
            if proc.alive():
                out[name] = round(proc_rss_kib(proc.pid, child_pids(proc.pid)) / 1024, 1)
        return out

    # -- progress

    _progress_shown = False

    def clear_progress(self):
        if self._progress_shown:
            sys.stderr.write("\r\033[K")
            self._progress_shown = False

    def progress(self, total, counts):
        resting = sum(counts.get(s, 0) for s in RESTING_STATUSES)
        orders = sum(counts.values())
        width = 30
        done = int(width * resting / max(1, total))
        faults_done = len(self.fault_log)
        line = (f"[{'#' * done}{'.' * (width - done)}] {self.phase:<7} sent {self.traffic.submitted:>4}"
                f" | orders {orders:>4} terminal {resting:>4} (paid {counts.get(OrderStatus.PAID, 0)}, failed "
                f"{counts.get(OrderStatus.FAILED, 0)}, review {counts.get(OrderStatus.NEEDS_REVIEW, 0)}) | faults "
                f"{faults_done}/{self.n_faults} | {now() - self.started:5.0f}s")
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K" + line)
            self._progress_shown = True
        elif now() - getattr(self, "_last_plain", 0) >= 10:
            # Logs (CI) get a line every 10 s instead of a carriage-return animation.
            self._last_plain = now()
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def status_counts(self):
        try:
            return dict(self.query("SELECT status, count(*) FROM payments_order GROUP BY status"))
        except psycopg.Error:
            return {}

    # -- the end of the run, as bench.runner wants it

    def teardown(self):
        self.supervisor.stopped.set()
        time.sleep(0.1)
        self.stop_stack()
        # No process a fault stopped (SIGSTOP) may outlive the run.
        for pid in self.faults.kill_frozen():
            self.warn(f"stopped pool process {pid} outlived its worker; SIGKILLed at teardown")
        self.release()

    def result(self, command):
        result = check(self, self.plan)
        result.update(
            run_dir=str(self.run_dir), database=self.db_name, warnings=self.warnings,
            args=dict(vars(self.args)),
            settings={**CHAOS_SETTINGS, "reconcile_interval_seconds": CHAOS_RECONCILE_INTERVAL_SECONDS,
                      "reconcile_threshold_seconds": CHAOS_RECONCILE_THRESHOLD_SECONDS,
                      "reconcile_task": self.reconcile_conf},
            command=command,
            memory_mib=getattr(self, "memory", {}),
        )
        return result

    def error_result(self):
        """What a run that did not get to its checks leaves for diagnosis."""
        return {"run_dir": str(self.run_dir), "warnings": self.warnings, "faults": {"events": self.fault_log}}
