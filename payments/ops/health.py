"""`GET /healthz`: can this process reach its database and its broker?

Both checks are bounded in time so a load balancer probing a web process whose broker is gone
gets a fast 503, not a hung connection. The body names the failing dependency and nothing else:
no URLs, hosts or exception messages that could carry credentials.

Cheap for anyone to ask: a process reuses its last verdict for HEALTHZ_CACHE_SECONDS, so a burst
of probes costs one query and one broker connection per interval, and callers are throttled per
client address (API_HEALTH_RATE, far above any load balancer's probing).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from celery_app import app as celery_app
from payments.http.throttling import HealthRateThrottle

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"
# Seconds per broker connection attempt; with one retry the check ends within about twice this,
# which keeps a probe of a hung broker well under the usual 2-5 s load-balancer check timeout.
BROKER_TIMEOUT_SECONDS = 0.75


def database_is_up():
    """True when a trivial query succeeds on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: database unavailable", exc_info=True)
        return False
    return True


def broker_is_up(timeout=BROKER_TIMEOUT_SECONDS):
    """True when a fresh connection to the Celery broker can be established within `timeout`."""
    # A fresh connection, not one from the producer pool: a pooled connection may look alive
    # while the server behind it is gone. The short socket timeouts override the app's own
    # transport options, which are sized for publishing, not for probing.
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "max_retries": 0}
    try:
        with celery_app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2 * timeout)
    except Exception as exc:  # kombu raises transport-specific errors; any of them means "down"
        # The class name only: some transports put the broker URL, password included, in messages.
        logger.warning("Health check: broker unavailable (%s)", type(exc).__name__)
        return False
    return True


class _LastVerdict:
    """This process's last checks and when they ran (monotonic), shared by its threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checks = None
        self.at = 0.0

    def get(self, max_age):
        """The checks, reused while younger than `max_age` seconds, else run again."""
        with self.lock:
            if self.checks is not None and time.monotonic() - self.at < max_age:
                return self.checks
            checks = {
                "database": OK if database_is_up() else UNAVAILABLE,
                "broker": OK if broker_is_up() else UNAVAILABLE,
            }
            self.checks, self.at = checks, time.monotonic()
            return checks


last_verdict = _LastVerdict()


class HealthSerializer(serializers.Serializer):
    """Body of /healthz: one key per dependency."""

    # Plain strings rather than choices: two fields with the same enum would make the schema
    # generator invent two names for one set of values.
    database = serializers.CharField(help_text='"ok" or "unavailable".')
    broker = serializers.CharField(help_text='"ok" or "unavailable".')


class HealthApi(APIView):
    """Liveness of the web process's dependencies, for load balancers and monitors."""

    name = "Health"
    description = "Whether this web process reaches its database and its broker: 200, or 503 naming what is down."
    authentication_classes = []
    permission_classes = [AllowAny]
    # Per client address, at a rate no load balancer's probes reach: a throttled probe (429)
    # would take a healthy instance out of rotation, while a flood must stay cheap.
    throttle_classes = [HealthRateThrottle]

    @extend_schema(
        operation_id="healthz",
        tags=["operations"],
        summary="Health of the database and the broker",
        auth=[],
        responses={
            200: OpenApiResponse(
                HealthSerializer,
                description="Both dependencies answer.",
                examples=[OpenApiExample("Healthy", value={"database": OK, "broker": OK})],
            ),
            503: OpenApiResponse(
                HealthSerializer,
                description="At least one dependency does not answer; the body says which.",
                examples=[OpenApiExample("Broker down", value={"database": OK, "broker": UNAVAILABLE})],
            ),
        },
    )
    def get(self, request):
        checks = last_verdict.get(max_age=settings.HEALTHZ_CACHE_SECONDS)
        healthy = all(value == OK for value in checks.values())
        return Response(checks, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
