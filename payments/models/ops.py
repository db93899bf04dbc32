"""Ops bookkeeping: when each periodic job last finished."""

from django.db import models


class OpsHeartbeat(models.Model):
    """When a periodic job last finished, written by the worker that ran it, read by /metrics and `/`.

    The web process cannot see a worker's memory, and beat's PeriodicTask.last_run_at says when a
    run was sent, not that it finished: this row says it finished.
    """

    name = models.CharField(max_length=64, unique=True)
    last_run_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"
