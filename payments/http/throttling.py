"""Request rate limits of the API (DRF throttles), their rates read from settings on every request.

DRF's stock throttles freeze DEFAULT_THROTTLE_RATES at import; reading the setting when a throttle
is built keeps one source (API_ORDER_CREATE_RATE, API_REFUND_CREATE_RATE, API_READ_RATE,
API_ANON_RATE, API_HEALTH_RATE) that tests and deploys can change. A rate of None switches a
throttle off. Counters live in the default cache, which production requires to be shared by
every process (config/settings/production.py). Anonymous callers are counted by the client
address of payments/http/proxies.py, never by a header they chose; a refusal is logged with it.
https://www.django-rest-framework.org/api-guide/throttling/
"""

import logging

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from payments.core.logs import logfmt
from payments.http.proxies import client_ip

logger = logging.getLogger(__name__)


class ClientAddressMixin:
    """Count anonymous callers by the trusted-proxy client address, and log each refusal."""

    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if not allowed:
            user = getattr(request, "user", None)
            logger.warning(
                logfmt(
                    "throttled",
                    scope=self.scope,
                    client=client_ip(request),
                    user=user.pk if user is not None and user.is_authenticated else None,
                    path=request.path,
                )
            )
        return allowed


class AnonymousRateThrottle(ClientAddressMixin, AnonRateThrottle):
    """Unauthenticated requests, per client address: API_ANON_RATE."""

    def get_rate(self):
        return settings.API_ANON_RATE


class ReadRateThrottle(ClientAddressMixin, UserRateThrottle):
    """Authenticated reads (GET, HEAD, OPTIONS), per user: API_READ_RATE. Writes have their own."""

    scope = "read"

    def get_rate(self):
        return settings.API_READ_RATE

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if request.method not in ("GET", "HEAD", "OPTIONS") or user is None or not user.is_authenticated:
            return True
        return super().allow_request(request, view)


class OrderCreateRateThrottle(ClientAddressMixin, UserRateThrottle):
    """Order submissions, per user: API_ORDER_CREATE_RATE. Idempotent replays count too."""

    scope = "order_create"

    def get_rate(self):
        return settings.API_ORDER_CREATE_RATE


class RefundCreateRateThrottle(ClientAddressMixin, UserRateThrottle):
    """Refund requests, per user: API_REFUND_CREATE_RATE. Each one may move money back."""

    scope = "refund_create"

    def get_rate(self):
        return settings.API_REFUND_CREATE_RATE


class HealthRateThrottle(ClientAddressMixin, AnonRateThrottle):
    """`/healthz`, per client address (everyone is anonymous there): API_HEALTH_RATE."""

    scope = "health"

    def get_rate(self):
        return settings.API_HEALTH_RATE
