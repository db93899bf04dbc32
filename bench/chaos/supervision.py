"""How the chaos harness supervises its processes: production's probes (deploy/), scaled to a short
run, the restart policy, and the supervisor that applies both.

Production (deploy/k8s/worker-*.yaml and configmap.yaml; deploy/systemd/payments-liveness@.*):
each worker touches its heartbeat file every 5 s unless a request has waited 30 s for a free pool
slot (stall) or has waited or run past the task time limit + the stall bound, 60 + 30 s (hung;
payments/ops/liveness.py). The kubelet runs `python -m payments.ops.liveness` (max age 30 s) every 10 s
and restarts the container after 3 failures in a row; the startup probe gives a booting worker
24 × 5 s = 120 s before any of that counts.

A chaos run must show recovery within the reconciler's bound (15 s threshold + 2 s interval), so
the periods are about five times shorter and the stall bound three: heartbeat every 1 s, stall
10 s (above what a healthy pool on this loaded 2-core machine leaves a request waiting), hung =
the chaos task time limit + stall (the bootstep's own default rule), max age 6 s (six heartbeat
intervals, as 30 s is six of 5 s), probe every 2 s, 3 failures in a row (k8s's failureThreshold,
unchanged), 30 s startup grace (a worker boots in a few seconds here). A pool that stops
executing is then restarted at most `detection_seconds` (stall + interval + max age + threshold ×
period = 23 s) after a request first waited for it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from devtools.settings import CHAOS_SETTINGS
from payments.ops import liveness
from payments.ops.liveness import HEARTBEAT_FILE_ENV, HUNG_ENV, INTERVAL_ENV, MAX_AGE_ENV, STALL_ENV


@dataclass(frozen=True)
class ProbeSettings:
    """The heartbeat bootstep's bounds and the supervisor's probe schedule, in seconds."""

    interval: float           # PAYMENTS_WORKER_HEARTBEAT_INTERVAL
    stall: float              # PAYMENTS_WORKER_STALL_SECONDS
    hung: float               # PAYMENTS_WORKER_HUNG_SECONDS
    max_age: float            # the check's --max-age
    period: float             # livenessProbe.periodSeconds
    failure_threshold: int    # livenessProbe.failureThreshold
    startup_grace: float      # startupProbe.periodSeconds × failureThreshold

    @property
    def detection_seconds(self) -> float:
        """Worst case from a request that cannot start to the kill: the stall is seen, the file goes stale, the probes fail."""
        return self.stall + self.interval + self.max_age + self.failure_threshold * self.period

    def worker_env(self, heartbeat_file) -> dict:
        """The environment that switches the worker's heartbeat bootstep on with these bounds."""
        return {HEARTBEAT_FILE_ENV: str(heartbeat_file), INTERVAL_ENV: self.interval, STALL_ENV: self.stall,
                HUNG_ENV: self.hung, MAX_AGE_ENV: self.max_age}


PRODUCTION = ProbeSettings(interval=5, stall=30, hung=60 + 30, max_age=30, period=10, failure_threshold=3,
                           startup_grace=5 * 24)
CHAOS_STALL = 10.0
CHAOS = ProbeSettings(interval=1, stall=CHAOS_STALL, hung=float(CHAOS_SETTINGS["CELERY_TASK_TIME_LIMIT"]) + CHAOS_STALL,
                      max_age=6, period=2, failure_threshold=PRODUCTION.failure_threshold, startup_grace=30)


class LivenessProbe:
    """The kubelet's startup probe, then its liveness probe, for one start of one worker.

    Feed it the outcome of each `payments.ops.liveness.check` (None = passed). Before the first pass a
    failure counts only once the startup grace is over (a booting worker has no heartbeat yet);
    after it, `failure_threshold` failures in a row mean restart.
    """

    def __init__(self, settings: ProbeSettings, started_at: float):
        self.settings = settings
        self.started_at = started_at
        self.started = False
        self.failures = 0
        self.next_at = started_at

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def observe(self, reason: str | None, now: float) -> str | None:
        """Record one probe outcome; the reason to restart the worker, or None."""
        self.next_at = now + self.settings.period
        if reason is None:
            self.started, self.failures = True, 0
            return None
        if not self.started:
            if now - self.started_at < self.settings.startup_grace:
                return None
            return f"startup probe: {reason}"
        self.failures += 1
        if self.failures < self.settings.failure_threshold:
            return None
        return f"{reason} ({self.failures} probes in a row)"


class RestartPolicy:
    """How often the supervisor restarts a process, as systemd/Kubernetes would.

    `Restart=always` with `RestartSec=1` (deploy/systemd), `restartPolicy: Always` (deploy/k8s):
    every exit a fault did not ask for, and every worker that failed its liveness probe, is
    restarted after `delay_seconds`, up to `burst` restarts within `window_seconds` (systemd's
    StartLimitBurst/StartLimitIntervalSec); past that the process is left down and the run
    records it.
    """

    delay_seconds = 1.0
    burst = 10
    window_seconds = 60.0

    def __init__(self):
        self.restarts = {}

    def allow(self, name, at):
        recent = [t for t in self.restarts.get(name, []) if at - t < self.window_seconds]
        if len(recent) >= self.burst:
            return False
        self.restarts[name] = [*recent, at]
        return True


class Supervisor:
    """Acts for the chaos stack as systemd/Kubernetes would: restarts a process that exited without
    a fault asking it to, and a worker whose liveness probe failed `CHAOS.failure_threshold` times
    in a row.

    Every restart is recorded in `restarts` with its cause: a crash or a wedged worker is a finding
    even when the invariants hold. A fault that takes a process down on purpose says so first
    (`going_down`), and the supervisor leaves it to the fault.
    """

    def __init__(self, run, processes, workers, probes=CHAOS):
        self.run = run               # the chaos run: its processes, clock and log
        self.processes = processes   # names, in start order
        self.workers = workers       # the names of those that have a liveness probe
        self.probe_settings = probes
        self.policy = RestartPolicy()
        self.expected_down = set()   # processes a fault took down on purpose
        self.restarts = []           # every restart the supervisor made, by cause (exit or liveness)
        self.probes = {}             # worker name -> (its start count, the LivenessProbe of that start)
        self.background = []         # restarts a fault left running (joined before the checks)
        self.stopped = threading.Event()
        # Held by each supervisor pass: the heal and a fault taking a process down wait for a restart
        # in progress instead of racing it. Re-entrant: a pass may mark a process down itself.
        self.pass_lock = threading.RLock()
        self._lock = threading.Lock()

    def loop(self):
        """Supervise every 0.5 s until `stopped` is set."""
        while not self.stopped.wait(0.5):
            with self.pass_lock:
                self.supervise_once()

    def supervise_once(self):
        """One pass over every process: restart the dead, probe the live workers whose probe is due."""
        for name in self.processes:
            proc = self.run.procs.get(name)
            with self._lock:
                if name in self.expected_down:
                    continue
            if proc is None or proc.proc is None:
                continue
            if not proc.alive():
                self.restart(proc, "exit", self.last_error(proc), exit_code=proc.proc.returncode)
            elif name in self.workers:
                reason = self.liveness_failure(proc)
                if reason is not None:
                    self.restart(proc, "liveness", reason)

    def liveness_failure(self, worker):
        """Probe `worker` when its probe is due (`payments.ops.liveness.check`, as deploy/ runs it); why
        it must be restarted, or None. Every new start gets the startup grace again."""
        starts, probe = self.probes.get(worker.name, (None, None))
        if starts != worker.starts:
            probe = LivenessProbe(self.probe_settings, started_at=time.monotonic())
            self.probes[worker.name] = (worker.starts, probe)
        if not probe.due(time.monotonic()):
            return None
        return probe.observe(liveness.check(worker.heartbeat, self.probe_settings.max_age), time.monotonic())

    @staticmethod
    def last_error(proc):
        errors = [line for line in proc.log_text(since_start=True).splitlines()
                  if "CRITICAL" in line or "Error" in line]
        return (errors[-1] if errors else proc.tail(1))[:300]

    def restart(self, proc, cause, reason, exit_code=None):
        """Restart `proc` as its supervisor would. A worker that failed its liveness probe is
        SIGKILLed with its pool: the kubelet's SIGTERM would wait out a grace period a frozen pool
        never ends, and its unacknowledged messages come back from the broker either way."""
        entry = {"process": proc.name, "cause": cause, "reason": reason, "exit_code": exit_code,
                 "at": round(time.monotonic() - self.run.t_traffic, 1), "killed_at": time.time()}
        self.restarts.append(entry)
        if cause == "liveness":
            entry["pids_killed"] = [proc.pid, *proc.child_pids()]
            proc.kill_main()
        if not self.policy.allow(proc.name, time.monotonic()):
            entry["restart_error"] = "restart limit reached (RestartPolicy.burst); left down"
            self.going_down(proc)
            self.run.log(f"{proc.name} needs a restart again ({cause}): restart limit reached, leaving it down")
            return
        self.run.log(f"{proc.name}: {cause}: {reason[:160]}; restarting it in {self.policy.delay_seconds:g}s")
        time.sleep(self.policy.delay_seconds)
        try:
            proc.stop(timeout=1)
            proc.start(wait=True)
            entry["ready_at"] = time.time()
        except Exception as exc:
            entry["restart_error"] = repr(exc)[:300]

    # -- processes a fault takes down and brings back

    def going_down(self, proc, down=True):
        """Mark `proc` as taken down by a fault (or back), so the supervisor leaves it alone."""
        if down:
            with self.pass_lock, self._lock:
                self.expected_down.add(proc.name)
            return
        with self._lock:
            self.expected_down.discard(proc.name)

    def in_background(self, name, fn, *args):
        """Run a restart later without blocking the fault lane (joined, bounded, before the checks)."""
        thread = threading.Thread(target=fn, args=args, name=name, daemon=True)
        thread.start()
        self.background.append(thread)

    def restart_after(self, proc, pause):
        """Bring back a process a fault took down, `pause` s later, and hand it back to supervision."""
        time.sleep(pause)
        try:
            proc.stop(timeout=1)
            proc.start(wait=True)
        except Exception as exc:
            self.run.log(f"restart of {proc.name} failed: {exc!r}")
        finally:
            self.going_down(proc, False)

    def settle_background(self):
        """Wait for pending restarts, so one fault never hits a process another fault is restarting."""
        for thread in self.background:
            thread.join(timeout=max(1, min(60, self.run.remaining() - 30)))
