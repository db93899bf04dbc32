"""Celery signal handlers that feed payments.core.metrics; connected by PaymentsConfig.ready().

Signals rather than code in the tasks: the tasks stay thin, and a retry is counted however it
was raised (autoretry_for, self.retry).
"""

import logging
import os

from celery.signals import task_retry, task_success, worker_process_shutdown

from payments.core.metrics import RECONCILED_ORDERS, TASK_RETRIES

logger = logging.getLogger(__name__)

RECONCILE_TASK = "payments.tasks.reconcile_orders_task"


@task_retry.connect
def _count_retry(sender=None, request=None, **kwargs):
    name = getattr(request, "task", None) or getattr(sender, "name", "unknown")
    TASK_RETRIES.labels(name).inc()


@task_success.connect
def _record_reconcile_run(sender=None, result=None, **kwargs):
    if getattr(sender, "name", None) != RECONCILE_TASK:
        return
    from payments.core.heartbeat import heartbeat_record
    from payments.ops.selectors import RECONCILER_HEARTBEAT

    for kind, count in (result or {}).items():
        if count:
            RECONCILED_ORDERS.labels(kind).inc(count)
    try:
        heartbeat_record(RECONCILER_HEARTBEAT, detail=result or {})
    except Exception:  # noqa: BLE001 - a heartbeat must never fail the run it reports
        logger.warning("Could not record the reconciler's heartbeat", exc_info=True)


@worker_process_shutdown.connect
def _mark_pool_process_dead(pid=None, **kwargs):
    # prometheus_client's multiprocess mode: a dead process's live gauges must not be summed.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
