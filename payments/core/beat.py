"""Beat's scheduler: django-celery-beat's DatabaseScheduler, riding out a database outage.

django-celery-beat already logs and survives a database error while it looks for changes and while
it writes run times, but not while it reads the whole schedule: on its start, and on the full read
it forces every 5 minutes. A failover at that moment made beat exit (the chaos harness's
`db_outage` showed it). Here a read that cannot reach the database keeps the schedule beat already
has (nothing at its start) and is tried again on the next tick, so beat goes on sending what is
due and catches up once the database is back. https://github.com/celery/django-celery-beat
"""

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, InterfaceError, close_old_connections
from django_celery_beat import schedulers

logger = logging.getLogger(__name__)


class DatabaseScheduler(schedulers.DatabaseScheduler):
    """The schedule in the database, editable in admin; a failed read is retried, never fatal."""

    def all_as_schedule(self):
        try:
            return super().all_as_schedule()
        except (DatabaseError, InterfaceError) as exc:
            # Drop the dead connection, so that the next tick connects afresh.
            close_old_connections()
            if not self._schedule:
                # Nothing read yet: read again on the next tick, as at the start.
                self._initial_read = True
                logger.warning("Beat: schedule not read, database unavailable (%s); trying again", exc)
                return {}
            # Force a full read on the next tick, and meanwhile keep sending what is known.
            self._last_full_sync = datetime.now() - timedelta(seconds=schedulers.SCHEDULE_SYNC_MAX_INTERVAL)
            logger.warning("Beat: schedule not re-read, database unavailable (%s); keeping the last one", exc)
            return self._schedule
