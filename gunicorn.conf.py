"""Gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py by default).

Only what prometheus_client's multiprocess mode needs: with PROMETHEUS_MULTIPROC_DIR set, every
worker writes its metrics to files there and a dead worker's live gauges must be dropped
(https://prometheus.github.io/client_python/multiprocess/). The directory is made if missing; it
is emptied by whoever starts the host's processes (systemd RuntimeDirectory=, scripts, tests),
not here, because the Celery workers of the host share it.
"""

import os

_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _multiproc_dir:
    os.makedirs(_multiproc_dir, exist_ok=True)


def child_exit(server, worker):
    if _multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
