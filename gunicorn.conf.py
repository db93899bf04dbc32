"""Gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py by default).

The worker class and count, chosen by measurement (docs/decisions/0006-sync-gunicorn-workers.md), and
what prometheus_client's multiprocess mode needs: with PROMETHEUS_MULTIPROC_DIR set, every
worker writes its metrics to files there and a dead worker's live gauges must be dropped
(https://prometheus.github.io/client_python/multiprocess/). The directory is made if missing; it
is emptied by whoever starts the host's processes (systemd RuntimeDirectory=, scripts, tests),
not here, because the Celery workers of the host share it.
"""

import os

# Sync workers, two per core, by `python -m bench.api_latency` on 2 cores (docs/how-to/web-tier.md):
# 4 sync workers served as many requests as 2 (within the run-to-run noise),
# but 4 POSTs to a silent broker answered in 0.44 s instead of 0.83 s (a sync worker is blocked for
# its whole request, and 2 workers queued them); gthread 2 x 4 served ~20 % fewer requests at 16
# clients, and gevent 2 no more than sync, with a PostgreSQL connection per greenlet.
# WEB_CONCURRENCY sets another count: gunicorn reads it too, but this file's value would win.
# https://docs.gunicorn.org/en/stable/design.html#how-many-workers
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))

_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _multiproc_dir:
    os.makedirs(_multiproc_dir, exist_ok=True)


def child_exit(server, worker):
    if _multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
