"""How the chaos harness supervises its workers: production's probes (deploy/), scaled to a short run.

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

from dataclasses import dataclass

from devtools.settings import CHAOS_SETTINGS
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
