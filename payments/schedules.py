"""The reconciler's periodic task: its name and defaults, defined once.

The task signature, the service, the `setup_periodic_tasks` command and the data migration's
frozen literals (checked equal by a test) all read these.
"""

RECONCILE_TASK_NAME = "payments: reconcile stuck orders"
RECONCILE_TASK = "payments.tasks.reconcile_orders_task"
RECONCILE_QUEUE = "maintenance"
RECONCILE_INTERVAL_SECONDS = 60
RECONCILE_PENDING_AFTER_SECONDS = 60
RECONCILE_PROCESSING_AFTER_SECONDS = 60
RECONCILE_LIMIT = 500
# How long after its creation a parked order is still rechecked for a sale that landed late.
RECONCILE_REVIEW_WINDOW_SECONDS = 3600

RECONCILE_KWARGS = {
    "pending_after_seconds": RECONCILE_PENDING_AFTER_SECONDS,
    "processing_after_seconds": RECONCILE_PROCESSING_AFTER_SECONDS,
    "limit": RECONCILE_LIMIT,
    "review_window_seconds": RECONCILE_REVIEW_WINDOW_SECONDS,
}
