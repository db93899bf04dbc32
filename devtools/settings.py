"""Delivery settings presets for stack processes, passed as `environment(extra=...)`.

Each value is a variable the settings modules read (`config/settings/base.py` explains what the
setting does); the comment here says why the preset picks this value.
"""

# Tests: failure paths finish in seconds and retry delays are exact.
FAST_SETTINGS = {
    # Well below the soft time limit, so a hung gateway is a retryable timeout, not a killed task.
    "BRAINTREE_TIMEOUT_SECONDS": 2,
    # Retry countdowns 1, 2, 4 s, then 4 s.
    "PAYMENTS_RETRY_BACKOFF": 1,
    "PAYMENTS_RETRY_BACKOFF_MAX": 4,
    # Enough to see a retry succeed after a burst of faults, few enough to see the give-up.
    "PAYMENTS_MAX_RETRIES": 3,
    # Off, so a test can wait for a retry by the clock.
    "PAYMENTS_RETRY_JITTER": "false",
    # A killed worker's claim lapses within 3 s (a live one renews it every second), so its
    # redelivered charge is taken over within seconds, without the reconciler.
    "PAYMENTS_CLAIM_LEASE_SECONDS": 3,
    "PAYMENTS_CLAIM_RENEW_SECONDS": 1,
    # Above the task hard time limit and three gateway timeouts, as in production.
    "PAYMENTS_CLAIM_HOLD_MAX_SECONDS": 25,
    "CELERY_TASK_SOFT_TIME_LIMIT": 15,
    "CELERY_TASK_TIME_LIMIT": 20,
    # A stopped worker is gone in 2 s, so teardown and restarts stay quick.
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": 2,
    # A partial refund of an unsettled sale looks again every second, so a test sees it go through.
    "PAYMENTS_REFUND_SETTLEMENT_POLL_SECONDS": 1,
}

# The chaos run: recovery from every fault must fit in a few minutes, yet every bound the
# production settings keep must hold (claims renewed past the hard limit, visibility > countdown +
# hard limit);
# the README's Reliability section explains how each bounds the time to terminal state.
CHAOS_SETTINGS = {
    **FAST_SETTINGS,
    # Jitter on, as in production: hundreds of orders retry at once after a burst of 503s.
    "PAYMENTS_RETRY_JITTER": "true",
    # More retries than the tests: the gateway faults overlap and come back within a run.
    "PAYMENTS_MAX_RETRIES": 5,
    "CELERY_TASK_SOFT_TIME_LIMIT": 8,
    "CELERY_TASK_TIME_LIMIT": 10,
    # Production's lease and renewal: the run measures how long a dead worker's orders wait.
    "PAYMENTS_CLAIM_LEASE_SECONDS": 6,
    "PAYMENTS_CLAIM_RENEW_SECONDS": 1.5,
    # Above the task hard time limit and three gateway timeouts: a live claim is never given up.
    "PAYMENTS_CLAIM_HOLD_MAX_SECONDS": 12,
    # Above the longest retry countdown plus the hard time limit.
    "CELERY_VISIBILITY_TIMEOUT": 30,
    # Long enough for the sales in flight during a SIGTERM deploy to finish.
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": 10,
    "DJANGO_DEBUG": "0",
}
# The chaos run's reconciler PeriodicTask: every 2 s, for orders older than 15 s. The threshold
# is above the claim lease, so a pending order is re-sent at most once per lease while it waits
# in a backlog (the reconciler re-sends every pending order older than this on every run).
CHAOS_RECONCILE_INTERVAL_SECONDS = 2
CHAOS_RECONCILE_THRESHOLD_SECONDS = 15

# What production runs with for connections and logging (config/settings/base.py's defaults),
# for processes on test settings: benchmarks measure what a user would run, and the chaos run's
# pg_terminate fault must hit persistent connections.
PRODUCTION_CONNECTIONS = {
    "DATABASE_CONN_MAX_AGE": 600,
    "DATABASE_CONN_HEALTH_CHECKS": "true",
    "CELERY_DB_REUSE_MAX": 1_000_000,
    "LOG_LEVEL": "INFO",
    "CELERY_TASK_LOG_LEVEL": "WARNING",
}

# The payments worker's pool for I/O-bound sales (README, Operating): threads, one per sale in
# flight. The threads pool enforces no task time limits; the gateway timeout and the claim lease
# bound a stuck call instead (tests/orders/test_integration_threads_pool.py).
RECOMMENDED_POOL = "threads"
