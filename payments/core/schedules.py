"""The reconciler's periodic task: its name and defaults, defined once.

The task signature, the service, the `setup_periodic_tasks` command and the data migration's
frozen literals (checked equal by a test) all read these.
"""

RECONCILE_TASK_NAME = "payments: reconcile stuck orders"
RECONCILE_TASK = "payments.tasks.reconcile_orders_task"
RECONCILE_QUEUE = "maintenance"
# Bounds how long an order whose worker died waits on Redis, which gives a dead worker's messages
# back only after its visibility timeout: the claim lapses within PAYMENTS_CLAIM_LEASE_SECONDS and
# the next run re-sends the order (migration 0015 moved the schedule 0002 created from 60 s).
RECONCILE_INTERVAL_SECONDS = 5
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

# The settlement tracker's periodic task (after the sale): paid sales not yet settled are looked
# up by id in batches, at most SETTLEMENT_LIMIT per run, the least recently checked first.
SETTLEMENT_TASK_NAME = "payments: track settlement"
SETTLEMENT_TASK = "payments.tasks.track_settlement_task"
SETTLEMENT_QUEUE = "maintenance"
SETTLEMENT_INTERVAL_SECONDS = 300
SETTLEMENT_LIMIT = 1000
# Ids per gateway search (the SDK pages results by 50 anyway).
SETTLEMENT_BATCH_SIZE = 100
# A refund left pending (or with an expired lease) this long is re-sent by the tracker's sweep.
SETTLEMENT_REFUND_SWEEP_AFTER_SECONDS = 120

SETTLEMENT_KWARGS = {"limit": SETTLEMENT_LIMIT, "batch_size": SETTLEMENT_BATCH_SIZE}
