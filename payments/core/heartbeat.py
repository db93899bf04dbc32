"""Heartbeats of periodic jobs: one row per job, overwritten by each finished run."""

from django.utils import timezone

from payments.models import OpsHeartbeat


def heartbeat_record(name, *, detail=None):
    """Record that the periodic job `name` finished a run just now."""
    OpsHeartbeat.objects.update_or_create(
        name=name, defaults={"last_run_at": timezone.now(), "detail": detail or {}}
    )
