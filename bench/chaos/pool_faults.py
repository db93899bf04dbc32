"""Faults on `chaos-maint`'s prefork pool that only the supervisor can answer.

`kill_child_at_startup` kills the pool process as the worker starts, `freeze_pool` stops it
(SIGSTOP) while the worker keeps consuming: no fault here makes a process exit on its own, so the
run shows whether the supervisor (supervision.py) sees it. The frozen processes are tracked
until they are gone; the checks judge the restarts (S1, S2 in checks.py).
"""

import os
import signal
import time

from bench.chaos.supervision import CHAOS as PROBES
from devtools.stack import pid_alive


class PoolFaults:
    """The pool faults of `FaultInjector` (faults.py), which sets `chaos`, `supervisor` and `frozen_pids`."""

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
        self.supervisor.going_down(w)
        try:
            w.stop(timeout=3)
            w.start(wait=False)
            pid, killed_at = self.kill_first_pool_process(w, timeout=60)
            ready_at = self.wait_ready_or_exit(w, timeout=60)
            time.sleep(3)
            text, alive = w.log_text(since_start=True), w.alive()
        finally:
            # From here on the worker is the supervisor's business, as in production.
            self.supervisor.going_down(w, False)
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
        with self.supervisor.pass_lock:
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
