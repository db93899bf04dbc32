"""Worker liveness: a heartbeat file that is touched only while the worker executes what it takes.

A live PID proves little. Celery 5.6 can lose its pool (a child SIGKILLed as a fresh worker logs `ready.`
ends in `WorkerLostError('Could not start worker processes')`) while the main process keeps
reserving messages it never executes; celery#2171 has the same shape. So the signal is about
work, not processes: `WorkerLiveness`, a consumer bootstep, looks at the worker's own bookkeeping
every few seconds from the consumer's timer and touches the heartbeat file only when

- no request handed to the pool has waited longer than `PAYMENTS_WORKER_STALL_SECONDS` to start
  while the pool had a free slot (a healthy pool starts such a request at once), and
- no request has waited, or run, longer than `PAYMENTS_WORKER_HUNG_SECONDS` at all (a request may
  wait behind busy slots, but never past the task time limit; the threads pool enforces no time
  limit, so a hung thread shows up here).

Because the timer runs on the consumer's event loop, a wedged loop stops the heartbeat as well.
`python -m payments.ops.liveness --heartbeat FILE --max-age S` exits 1 when the file is missing or
older than S seconds; supervisors (deploy/) run it as the liveness probe. Requests with an ETA or
countdown are not in the pool's hands until their time comes (celery.worker.strategy), so a
parked retry never counts as waiting.

Environment (the bootstep reads the first four in the worker; the check the file and the max age):
`PAYMENTS_WORKER_HEARTBEAT_FILE` (unset: the bootstep does nothing), `PAYMENTS_WORKER_HEARTBEAT_INTERVAL`
(5 s), `PAYMENTS_WORKER_STALL_SECONDS` (30 s), `PAYMENTS_WORKER_HUNG_SECONDS` (task time limit + the
stall bound, else 600 s) and `PAYMENTS_WORKER_HEARTBEAT_MAX_AGE` (the check's default, 30 s).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from celery import bootsteps
from celery.worker.control import inspect_command

logger = logging.getLogger(__name__)

# This worker process's latest assessment, for the ops dashboard (payments_worker_health below).
_latest: dict = {}

# Not CELERY_WORKER_*: the celery CLI reads CELERY_WORKER_<OPTION> as its own options
# (auto_envvar_prefix), so CELERY_WORKER_HEARTBEAT_INTERVAL would become --heartbeat-interval.
HEARTBEAT_FILE_ENV = "PAYMENTS_WORKER_HEARTBEAT_FILE"
INTERVAL_ENV = "PAYMENTS_WORKER_HEARTBEAT_INTERVAL"
STALL_ENV = "PAYMENTS_WORKER_STALL_SECONDS"
HUNG_ENV = "PAYMENTS_WORKER_HUNG_SECONDS"
MAX_AGE_ENV = "PAYMENTS_WORKER_HEARTBEAT_MAX_AGE"

DEFAULT_INTERVAL = 5.0
DEFAULT_STALL = 30.0
DEFAULT_HUNG_WITHOUT_TIME_LIMIT = 600.0
DEFAULT_MAX_AGE = 30.0


@dataclass(frozen=True)
class PoolSnapshot:
    """What the pool is doing at one instant, as ages in seconds."""

    slots: int
    waiting: tuple[float, ...]  # requests handed to the pool and not started, by time waited
    running: tuple[float, ...]  # requests started and not finished, by time run


def assess(snapshot: PoolSnapshot, *, stall_after: float, hung_after: float) -> str | None:
    """Why the worker is not live, or None when it is."""
    longest_wait = max(snapshot.waiting, default=0.0)
    if longest_wait > hung_after:
        return f"a request has waited {longest_wait:.0f}s for the pool (bound {hung_after:.0f}s)"
    # A pool that reports no slots at all cannot start anything either.
    if longest_wait > stall_after and len(snapshot.running) < max(snapshot.slots, 1):
        return (
            f"a request has waited {longest_wait:.0f}s while only {len(snapshot.running)} "
            f"of {snapshot.slots} pool slots were busy (bound {stall_after:.0f}s)"
        )
    longest_run = max(snapshot.running, default=0.0)
    if longest_run > hung_after:
        return f"a request has run for {longest_run:.0f}s (bound {hung_after:.0f}s)"
    return None


class WaitTracker:
    """Remembers when each request handed to the pool was first seen waiting.

    Celery records when a request starts (`Request.time_start`) but not when it was handed to the
    pool, so waits are measured from the first tick that saw them: at most one interval short.
    """

    def __init__(self):
        self._first_seen: dict[str, float] = {}

    def observe(self, reserved, active, slots: int, now: float, wall_now: float) -> PoolSnapshot:
        """A snapshot from Celery's reserved and active requests (`now` monotonic, `wall_now` epoch)."""
        active_ids = {request.id for request in active}
        waiting_ids = {request.id for request in reserved} - active_ids
        self._first_seen = {rid: self._first_seen.get(rid, now) for rid in waiting_ids}
        running = tuple(
            max(0.0, wall_now - request.time_start) if request.time_start else 0.0 for request in active
        )
        waiting = tuple(now - seen for seen in self._first_seen.values())
        return PoolSnapshot(slots=slots, waiting=waiting, running=running)


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _snapshot_of(requests) -> list:
    # Pool threads add and discard requests while the timer reads them; a WeakSet copied during
    # a change raises RuntimeError, and the next attempt sees a consistent set.
    for _ in range(5):
        try:
            return list(requests)
        except RuntimeError:
            continue
    return list(requests)


class WorkerLiveness(bootsteps.StartStopStep):
    """Consumer bootstep: touch `PAYMENTS_WORKER_HEARTBEAT_FILE` while the pool executes its requests.

    Registered in celery_app.py with `app.steps["consumer"].add(...)`. It runs for prefork,
    threads and any pool that reports starts through `Request.on_accepted`.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c, **kwargs):
        super().__init__(c, **kwargs)
        path = os.environ.get(HEARTBEAT_FILE_ENV, "").strip()
        self.enabled = bool(path)
        if not self.enabled:
            return
        self.path = Path(path)
        self.interval = _env_seconds(INTERVAL_ENV, DEFAULT_INTERVAL)
        self.stall_after = _env_seconds(STALL_ENV, DEFAULT_STALL)
        time_limit = c.app.conf.task_time_limit
        default_hung = time_limit + self.stall_after if time_limit else DEFAULT_HUNG_WITHOUT_TIME_LIMIT
        self.hung_after = _env_seconds(HUNG_ENV, default_hung)
        self.tracker = WaitTracker()
        self.reason = None
        self._tref = None

    def start(self, c):
        from celery.worker import state  # the worker's own globals, only meaningful in a worker

        self._state = state
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tick(c)
        self._tref = c.timer.call_repeatedly(self.interval, self.tick, (c,), priority=10)
        logger.info(
            "Worker liveness: heartbeat %s every %gs (stall bound %gs, hung bound %gs)",
            self.path, self.interval, self.stall_after, self.hung_after,
        )

    def tick(self, c):
        try:
            snapshot = self.tracker.observe(
                _snapshot_of(self._state.reserved_requests),
                _snapshot_of(self._state.active_requests),
                slots=c.pool.num_processes if c.pool is not None else 0,
                now=time.monotonic(),
                wall_now=time.time(),
            )
            reason = assess(snapshot, stall_after=self.stall_after, hung_after=self.hung_after)
        except Exception:
            # An assessment that cannot be made is no evidence of health.
            logger.exception("Worker liveness: could not assess the pool; heartbeat not touched")
            _latest.update(live=False, reason="the pool could not be assessed", checked_at=time.time())
            return
        _latest.update(live=reason is None, reason=reason, checked_at=time.time(), interval=self.interval)
        if reason is None:
            self.path.touch()
            if self.reason is not None:
                logger.warning("Worker liveness: the pool executes again; heartbeat resumed")
        elif self.reason is None:
            # Once per stall: the reason's figures grow every tick, and a line per second during
            # an outage would bury the one that says when it began.
            logger.error("Worker liveness: not live, heartbeat no longer touched: %s", reason)
        self.reason = reason

    def stop(self, c):
        # Also called when the consumer restarts after a broker connection loss: the file stays,
        # so a reconnect shorter than the check's max age does not fail the probe.
        if self._tref is not None:
            self._tref.cancel()
            self._tref = None

    def shutdown(self, c):
        self.stop(c)
        # A worker that shut down is not live; a stale file must not outlast it.
        self.path.unlink(missing_ok=True)


@inspect_command()
def payments_worker_health(state):
    """Remote control: what the ops dashboard shows of this worker (`celery inspect payments_worker_health`).

    One broadcast answers everything: the queues it consumes, tasks in flight and waiting for the
    pool, tasks processed since it started, and its liveness (None without a heartbeat file).
    """
    from celery.worker import state as worker_state

    consumer = state.consumer
    task_consumer = getattr(consumer, "task_consumer", None)
    return {
        "queues": sorted(queue.name for queue in task_consumer.queues) if task_consumer is not None else [],
        "concurrency": consumer.pool.num_processes if consumer.pool is not None else 0,
        "in_flight": len(worker_state.active_requests),
        "waiting": len(worker_state.reserved_requests) - len(worker_state.active_requests),
        "processed": sum(worker_state.total_count.values()),
        "liveness": dict(_latest) or None,
    }


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the heartbeat file was touched, or None when there is no file."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (time.time() if now is None else now) - mtime)


def check(path: Path, max_age: float, now: float | None = None) -> str | None:
    """Why the worker behind `path` is not live, or None when its heartbeat is fresh."""
    age = heartbeat_age(path, now)
    if age is None:
        return f"no heartbeat file at {path}"
    if age > max_age:
        return f"heartbeat {path} is {age:.1f}s old (max {max_age:g}s)"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m payments.ops.liveness",
        description="Exit 0 if the Celery worker's heartbeat file is fresh, 1 if stale or missing.",
    )
    parser.add_argument("--heartbeat", default=os.environ.get(HEARTBEAT_FILE_ENV) or None,
                        help=f"heartbeat file (default: ${HEARTBEAT_FILE_ENV})")
    parser.add_argument("--max-age", type=float, default=None,
                        help=f"seconds (default: ${MAX_AGE_ENV} or {DEFAULT_MAX_AGE:g})")
    args = parser.parse_args(argv)
    if not args.heartbeat:
        parser.error(f"no heartbeat file: pass --heartbeat or set {HEARTBEAT_FILE_ENV}")
    max_age = args.max_age if args.max_age is not None else _env_seconds(MAX_AGE_ENV, DEFAULT_MAX_AGE)
    reason = check(Path(args.heartbeat), max_age)
    if reason is not None:
        print(f"worker not live: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
