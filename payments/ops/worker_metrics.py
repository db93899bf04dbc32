"""Each Celery worker's own Prometheus endpoint: the metrics of the work it did, wherever it runs.

The gateway calls, their latency, the task retries, the time to a final status and the
reconciler's runs (payments/core/metrics.py) are recorded by the process that did the work, a
Celery worker. With `PAYMENTS_WORKER_METRICS_PORT` set, the worker bootstep `WorkerMetrics`
(registered in celery_app.py) serves them at `GET /metrics` on that port, under the names the web's
`/metrics` uses, so a worker on a host (or in a pod) without a web process is scraped directly.

What one worker serves:

- without `PROMETHEUS_MULTIPROC_DIR`, its own process's registry: the threads pool runs every
  task in the worker's process;
- with it, every metrics file in that directory (prometheus_client's multiprocess mode), which
  is how a prefork worker's pool processes are added up. Give each worker a directory of its own
  (systemd's per-instance `RuntimeDirectory=`, a pod's `emptyDir`): a directory shared with the web
  or another worker would have the same calls served, and counted, twice.

The database gauges (orders by status, the oldest pending order, ...) stay the web's: they are the
same whoever reads them. Access is the web's: with `METRICS_TOKEN` set a scrape needs
`Authorization: Bearer <token>`; unset, the endpoint answers loopback clients only.

Environment: `PAYMENTS_WORKER_METRICS_PORT` (unset: no endpoint), `PAYMENTS_WORKER_METRICS_PORT_OFFSET`
(added to the port: systemd's instance number, one port per instance from one setting) and
`PAYMENTS_WORKER_METRICS_ADDR` (default `0.0.0.0`). Not CELERY_WORKER_*: the celery command reads
CELERY_WORKER_<OPTION> as its own options (payments/ops/liveness.py says why).
"""

import hmac
import ipaddress
import json
import logging
import os
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import bootsteps
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

PORT_ENV = "PAYMENTS_WORKER_METRICS_PORT"
PORT_OFFSET_ENV = "PAYMENTS_WORKER_METRICS_PORT_OFFSET"
ADDR_ENV = "PAYMENTS_WORKER_METRICS_ADDR"
DEFAULT_ADDR = "0.0.0.0"


def metrics_port(environ=None):
    """The port this worker serves its metrics on, or None when it serves none."""
    environ = os.environ if environ is None else environ
    raw = environ.get(PORT_ENV, "").strip()
    if not raw:
        return None
    port = int(raw) + int(environ.get(PORT_OFFSET_ENV, "").strip() or 0)
    if not 0 < port < 65536:
        raise ValueError(f"{PORT_ENV} (+ {PORT_OFFSET_ENV}) must give a TCP port, got {port}")
    return port


def worker_registry():
    """What one scrape of a worker renders: its processes' event metrics (see the module docstring)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _json(start_response, status, detail, extra_headers=()):
    body = json.dumps({"detail": detail}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            *extra_headers])
    return [body]


def _refusal(environ, start_response, token):
    """The web's access rule (payments/ops/views.py): a Bearer token if one is set, else loopback only."""
    if not token:
        try:
            local = ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback
        except ValueError:
            local = False
        if local:
            return None
        return _json(start_response, "403 Forbidden", "Metrics answer loopback clients only unless METRICS_TOKEN is set.")
    scheme, _, presented = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return _json(start_response, "401 Unauthorized", "Bearer token required.",
                     [("WWW-Authenticate", 'Bearer realm="metrics"')])
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        return _json(start_response, "403 Forbidden", "Invalid token.")
    return None


def metrics_app(token):
    """A WSGI app answering `GET /metrics` with `worker_registry()`, behind the access rule."""

    def app(environ, start_response):
        if environ.get("PATH_INFO") not in ("/metrics", "/metrics/"):
            return _json(start_response, "404 Not Found", "Not found.")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _json(start_response, "405 Method Not Allowed", "Method not allowed.", [("Allow", "GET, HEAD")])
        refusal = _refusal(environ, start_response, token)
        if refusal is not None:
            return refusal
        body = generate_latest(worker_registry())
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        # A scrape every 15 s per target would fill the worker's log.
        pass


class WorkerMetrics(bootsteps.StartStopStep):
    """Worker bootstep: serve `GET /metrics` on PAYMENTS_WORKER_METRICS_PORT while the worker runs."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.port = metrics_port()
        self.server = None
        multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if multiproc_dir:
            # Before any pool process records a value there (gunicorn.conf.py does the same).
            os.makedirs(multiproc_dir, exist_ok=True)

    def start(self, worker):
        if self.port is None:
            return
        from django.conf import settings

        addr = os.environ.get(ADDR_ENV, "").strip() or DEFAULT_ADDR
        self.server = make_server(addr, self.port, metrics_app(settings.METRICS_TOKEN),
                                  server_class=_ThreadingServer, handler_class=_QuietHandler)
        # A prefork pool forks children after this; none of them may hold the listening socket.
        os.register_at_fork(after_in_child=self.server.socket.close)
        threading.Thread(target=self.server.serve_forever, name="payments-worker-metrics", daemon=True).start()
        logger.info("Worker metrics: GET http://%s:%d/metrics", addr, self.port)

    def stop(self, worker):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
