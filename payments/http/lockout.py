"""Password-login lockout in two tiers, on django-axes' database handler.

django-axes compares the failures of every lockout parameter set with one AXES_FAILURE_LIMIT.
Two tiers need two limits, so the username tier is counted here: failures of one username from
one client address (axes' own AXES_LOCKOUT_PARAMETERS) lock that pair at AXES_FAILURE_LIMIT;
failures of one username from all addresses together lock the username at the higher
AXES_USERNAME_FAILURE_LIMIT. Each address adds at most AXES_FAILURE_LIMIT to that sum (axes keeps
counting an address's failures while it is locked out), so one attacker on one address can never
lock the real admin out; guessing spread over many addresses is stopped by the second tier.
Both count within AXES_COOLOFF_TIME, as axes does. https://django-axes.readthedocs.io/en/latest/
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def username_failures(username, since, per_address_cap):
    """Failed logins of `username` since `since`, each address counted up to `per_address_cap`."""
    by_address = (
        AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
        .order_by()
        .values("ip_address")
        .annotate(failures=Sum("failures_since_start"))
    )
    return sum(min(row["failures"], per_address_cap) for row in by_address)


class TieredLockoutHandler(AxesDatabaseHandler):
    """axes' database handler, with the username tier folded into the failure count it compares."""

    def get_failures(self, request, credentials=None):
        pair = super().get_failures(request, credentials)
        username = get_client_username(request, credentials)
        if username is None:
            return pair
        pair_limit = get_failure_limit(request, credentials)
        spread = username_failures(username, get_cool_off_threshold(request), per_address_cap=pair_limit)
        if spread >= settings.AXES_USERNAME_FAILURE_LIMIT:
            # Reported as the pair limit reached: axes then refuses this login like any lockout.
            return max(pair, pair_limit)
        return pair
