"""Request rate limits of the API (DRF throttles), their rates read from settings on every request.

DRF's stock throttles freeze DEFAULT_THROTTLE_RATES at import; reading the setting when a throttle
is built keeps one source (API_ORDER_CREATE_RATE, API_ANON_RATE) that tests and deploys can
change. A rate of None switches a throttle off. Counters live in the default cache, which
production requires to be shared by every process (config/settings/production.py).
https://www.django-rest-framework.org/api-guide/throttling/
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle


def client_ip(request):
    """The client's address as every throttle sees it, proxies counted by API_NUM_PROXIES.

    django-axes uses it too (AXES_CLIENT_IP_CALLABLE), so admin lockouts and API limits agree.
    """
    return BaseThrottle().get_ident(request)


class AnonymousRateThrottle(AnonRateThrottle):
    """Unauthenticated requests, per client IP: API_ANON_RATE."""

    def get_rate(self):
        return settings.API_ANON_RATE


class OrderCreateRateThrottle(UserRateThrottle):
    """Order submissions, per user: API_ORDER_CREATE_RATE. Idempotent replays count too."""

    scope = "order_create"

    def get_rate(self):
        return settings.API_ORDER_CREATE_RATE
