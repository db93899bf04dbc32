"""Settings shared by every environment. Values come from the environment (see .env.example).

Every variable is read through `config.env.env` (django-environ) with its default beside it.
"""

from datetime import timedelta

# A module, not its upper-case names: those would become settings.
from csp import constants as csp

from config.env import BASE_DIR, comma_list, env, merchant_accounts, refuse_other_currency_list
from config.security import trusted_proxies

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = comma_list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens: stored as a hash, with an expiry (payments/tokens/).
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "payments",
]

MIDDLEWARE = [
    # Before everything: `request.id` (X-Request-ID) on every answer and in every log line of it.
    "payments.http.request_id.RequestIdMiddleware",
    # First after it, so it sees every answer: HTML error pages (Django's debug 404/500) become JSON.
    "payments.http.errors.JSONErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (CONTENT_SECURITY_POLICY below) on every answer.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is only the zero-setup default of `make run`; tests and production use PostgreSQL.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections: a fresh PostgreSQL connection is a backend fork plus authentication,
# which cost more than a short charge transaction (bench/pipeline_throughput.py,
# docs/reference/benchmark-results.md). The health check (one `SELECT 1` before the first query of a request or task) drops a
# connection the server killed (pg_terminate_backend, failover) instead of failing on it.
# Workers apply both through `payments.tasks`' task_prerun/postrun hooks (CELERY_DB_REUSE_MAX).
DATABASE_CONN_MAX_AGE_DEFAULT = 600
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=DATABASE_CONN_MAX_AGE_DEFAULT)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
# A failover can leave the old address silent instead of refusing: a connection attempt gives up
# after this long (libpq's connect_timeout; its default waits for the kernel, minutes), so a
# request answers 503 and a task retries instead of hanging. https://www.postgresql.org/docs/current/libpq-connect.html
DATABASE_CONNECT_TIMEOUT_SECONDS = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Password logins (the admin, the browsable API's login page) go through django-axes first, in two
# tiers (payments/http/lockout.py): after AXES_FAILURE_LIMIT failures for one username from one
# address, that pair is refused, even with the right password, for AXES_COOLOFF_MINUTES; after
# AXES_USERNAME_FAILURE_LIMIT failures for one username from any addresses, the username is.
# The pair tier keeps one attacker from locking a known admin out from elsewhere; the higher
# username tier stops guessing spread over many addresses. API tokens never reach these backends.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "payments.http.lockout.TieredLockoutHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_USERNAME_FAILURE_LIMIT = env.int("AXES_USERNAME_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client address of the throttles and the logs (TRUSTED_PROXIES), never a header a client picks.
AXES_CLIENT_IP_CALLABLE = "payments.http.proxies.client_ip"

# The proxies (addresses or networks, comma-separated, or "none") whose X-Forwarded-For says who
# the client is; from any other peer the socket's address is the client. One rule for the
# throttles, axes and the logs (payments/http/proxies.py). Production requires it to be set.
TRUSTED_PROXIES = trusted_proxies("TRUSTED_PROXIES", default=())

# Sessions are the admin's, the dashboard's and the browsable API's (API clients use tokens): a
# working day at most, and gone with the browser. https://docs.djangoproject.com/en/5.2/topics/http/sessions/
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content-Security-Policy on every answer (django-csp): scripts and style sheets from this origin,
# or inline only with the answer's nonce (the dashboard's <script> and <style> carry
# `nonce="{{ request.csp_nonce }}"`); NONCE is left out of answers that used none. Style
# attributes stay allowed: the admin and the browsable API use them, and they cannot run code.
# https://django-csp.readthedocs.io/en/latest/configuration.html
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "style-src-attr": [csp.UNSAFE_INLINE],
        # Swagger UI and the admin draw some icons from data: URLs.
        "img-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The default cache holds the API's throttle counters. Process-local memory is right for one
# process (tests, `make run`); production refuses it and needs a shared Redis, e.g.
# CACHE_URL=redis://127.0.0.1:6379/2 (Django's built-in RedisCache).
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-cache-url
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

LANGUAGE_CODE = "en-us"
# Timestamps to the second in the admin (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Reject oversized request bodies before DRF parses them (the API answers 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=16 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Authorization: Token <key>`, checked against the stored hash (payments/tokens/).
        "payments.tokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # The browsable API of every view under the service's name, and its inline bits made to run
    # under the Content-Security-Policy (payments/templates/payments/browsable_api.html).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "payments.http.renderers.PaymentsBrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "payments.http.errors.api_exception_handler",
    # Money is a string on the wire; never let a float round-trip through JSON.
    "COERCE_DECIMAL_TO_STRING": True,
    # Anonymous requests are limited per client address everywhere, and authenticated reads per
    # user (payments/http/throttling.py); order and refund creation have their own per-user
    # limits on top (OrderListCreateApi, RefundListCreateApi).
    "DEFAULT_THROTTLE_CLASSES": [
        "payments.http.throttling.AnonymousRateThrottle",
        "payments.http.throttling.ReadRateThrottle",
    ],
    # DRF's own client address for any stock throttle: the socket's, never a header. The
    # project's throttles use TRUSTED_PROXIES instead (payments/http/proxies.py).
    "NUM_PROXIES": 0,
}
# Rates as "<count>/<second|minute|hour|day>"; the answer past them is 429 with Retry-After.
API_ORDER_CREATE_RATE = env.str("API_ORDER_CREATE_RATE", default="120/minute")
API_REFUND_CREATE_RATE = env.str("API_REFUND_CREATE_RATE", default="30/minute")
API_READ_RATE = env.str("API_READ_RATE", default="600/minute")
API_ANON_RATE = env.str("API_ANON_RATE", default="60/minute")
# /healthz per client address: well above a load balancer's probes, far below a flood.
API_HEALTH_RATE = env.str("API_HEALTH_RATE", default="120/minute")
# How long one process reuses its last /healthz verdict: a burst of probes costs one database
# query and one broker connection per interval (0: check on every request).
HEALTHZ_CACHE_SECONDS = env.float("HEALTHZ_CACHE_SECONDS", default=2.0)
# The webhook's own body limit: Braintree's payload is base64 (up to WEBHOOK_FIELD_MAX, 200,000
# characters, in payments/webhooks/serializers.py), and form encoding turns each "+", "/", "="
# and newline into three bytes; a dispute with its transaction is already past the API's 16 KiB.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)

# API tokens (django-rest-knox): a SHA-512 hash is stored, never the key; each token expires
# API_TOKEN_TTL_DAYS after it is issued (`manage.py rotate_api_token` issues the next one).
# https://jazzband.github.io/django-rest-knox/settings/
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Payments API",
    "DESCRIPTION": "Submit orders carrying a Braintree payment nonce; workers charge them in the background.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Serve Swagger UI's assets from the sidecar package, so /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Each route once (the twins without a trailing slash left out), and the answers the plumbing
    # gives (401, 413, 415, 429, 503) on every operation: payments/http/openapi.py.
    "PREPROCESSING_HOOKS": ["payments.http.openapi.exclude_unslashed_twins"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "payments.http.openapi.document_common_answers",
    ],
}

# --- Payments -----------------------------------------------------------------------------------

PAYMENTS_MAX_AMOUNT = env.str("PAYMENTS_MAX_AMOUNT", default="10000.00")
# A claim's lease, renewed by its holder every PAYMENTS_CLAIM_RENEW_SECONDS while it works
# (payments/core/leases.py): a claim whose holder died lapses within one lease, and the order may
# be claimed again (after searching the gateway first). At least three renewals long, so that two
# late ones never hand a live claim over; renewed for at most PAYMENTS_CLAIM_HOLD_MAX_SECONDS,
# which exceeds the task hard time limit and three gateway timeouts (a search, a sale, a find).
# docs/decisions/0007-claim-lease-heartbeat.md
PAYMENTS_CLAIM_LEASE_SECONDS = env.float("PAYMENTS_CLAIM_LEASE_SECONDS", default=6)
PAYMENTS_CLAIM_RENEW_SECONDS = env.float("PAYMENTS_CLAIM_RENEW_SECONDS", default=1.5)
PAYMENTS_CLAIM_HOLD_MAX_SECONDS = env.float("PAYMENTS_CLAIM_HOLD_MAX_SECONDS", default=120)
# Claims of one order before it is parked in needs_review: stops a poison order (e.g. one whose
# worker is OOM-killed every time) from looping forever under task_reject_on_worker_lost.
PAYMENTS_MAX_CLAIMS = env.int("PAYMENTS_MAX_CLAIMS", default=8)

# The simulator's own default credentials (braintree_sim/config.py) and the development signing
# key: local and test settings fall back to them, production refuses them.
SIMULATOR_CREDENTIALS = {
    "BRAINTREE_MERCHANT_ID": "sim_merchant",
    "BRAINTREE_PUBLIC_KEY": "sim_public_key",
    "BRAINTREE_PRIVATE_KEY": "sim_private_key",
}
DEV_SECRET_KEY = "local-development-only-not-a-secret"

# Each accepted currency's Braintree merchant account (one account per presentment currency:
# Braintree charges in the account's currency). Its keys are the currencies the API accepts;
# PAYMENTS_CURRENCIES may only repeat them. Local and test settings default to the simulator's
# own accounts (braintree_sim/config.py); production requires the variable.
SIMULATOR_MERCHANT_ACCOUNTS = {
    "USD": "sim_merchant_account",
    "EUR": "sim_merchant_account_eur",
    "GBP": "sim_merchant_account_gbp",
}
BRAINTREE_MERCHANT_ACCOUNTS = merchant_accounts("BRAINTREE_MERCHANT_ACCOUNTS", default=SIMULATOR_MERCHANT_ACCOUNTS)
refuse_other_currency_list(BRAINTREE_MERCHANT_ACCOUNTS)

# Which payments.gateways backend the services call: "braintree" (the SDK, against Braintree or
# braintree_sim) or "fake" (in-process sandbox rules, for service tests without any process).
PAYMENTS_GATEWAY = env.str("PAYMENTS_GATEWAY", default="braintree")
BRAINTREE_ENVIRONMENT = env.str("BRAINTREE_ENVIRONMENT", default="simulator")
BRAINTREE_MERCHANT_ID = env.str("BRAINTREE_MERCHANT_ID", default="")
BRAINTREE_PUBLIC_KEY = env.str("BRAINTREE_PUBLIC_KEY", default="")
BRAINTREE_PRIVATE_KEY = env.str("BRAINTREE_PRIVATE_KEY", default="")
BRAINTREE_SIMULATOR_URL = env.str("BRAINTREE_SIMULATOR_URL", default="http://127.0.0.1:8600")
# Must stay well below CELERY_TASK_SOFT_TIME_LIMIT so a hung gateway surfaces as a retryable
# timeout, not as a killed task.
BRAINTREE_TIMEOUT_SECONDS = env.int("BRAINTREE_TIMEOUT_SECONDS", default=10)
# How the SDK's requests reach the gateway: "pooled" (payments.gateways.transport: one urllib3
# pool per process, the same bytes for a fifth less CPU) or "sdk" (its own requests session per
# thread). The pool keeps up to BRAINTREE_HTTP_MAX_CONNECTIONS idle connections: at least the
# worker's concurrency, or connections beyond it are closed after each call.
BRAINTREE_HTTP_TRANSPORT = env.str("BRAINTREE_HTTP_TRANSPORT", default="pooled")
BRAINTREE_HTTP_MAX_CONNECTIONS = env.int("BRAINTREE_HTTP_MAX_CONNECTIONS", default=64)

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html) -------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
# Results are never read: the order row is the record of truth.
CELERY_TASK_IGNORE_RESULT = True

CELERY_TASK_DEFAULT_QUEUE = "default"
# Routing lives here, not in @task(queue=...): an unrouted payment task would sit in a queue that
# no payments worker consumes.
CELERY_TASK_ROUTES = {
    "payments.tasks.charge_order_task": {"queue": "payments"},
    "payments.tasks.verify_order_task": {"queue": "payments"},
    "payments.tasks.reconcile_orders_task": {"queue": "maintenance"},
    "payments.tasks.refund_order_task": {"queue": "payments"},
    "payments.tasks.capture_order_task": {"queue": "payments"},
    "payments.tasks.cancel_order_task": {"queue": "payments"},
    "payments.tasks.process_webhook_task": {"queue": "payments"},
    "payments.tasks.track_settlement_task": {"queue": "maintenance"},
    "payments.tasks.store_payment_method_task": {"queue": "payments"},
    "payments.tasks.delete_payment_method_task": {"queue": "payments"},
}

# At-least-once delivery: ack after the task body returns, and requeue when the pool child dies
# mid-task (SIGKILL, OOM). Duplicates are made harmless by the order claim, not by the broker.
# https://docs.celeryq.dev/en/stable/userguide/tasks.html#Task.acks_late
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message per pool process: nothing waits in worker memory while the visibility clock runs.
# https://docs.celeryq.dev/en/stable/userguide/optimizing.html#prefetch-limits
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=45)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60)

# Retry policy of transient gateway errors (payments/tasks.py): exponential backoff with full
# jitter, capped, then the order goes to needs_review.
PAYMENTS_RETRY_BACKOFF = env.int("PAYMENTS_RETRY_BACKOFF", default=2)
PAYMENTS_RETRY_BACKOFF_MAX = env.int("PAYMENTS_RETRY_BACKOFF_MAX", default=60)
PAYMENTS_MAX_RETRIES = env.int("PAYMENTS_MAX_RETRIES", default=6)
# Retries of a task whose database was unreachable, counted apart from the gateway's (the same
# backoff: about 10 minutes at the cap with full jitter, past any failover); then the order is
# left for the reconciler, never parked (payments/tasks.py, docs/explanation/reliability.md).
PAYMENTS_DATABASE_MAX_RETRIES = env.int("PAYMENTS_DATABASE_MAX_RETRIES", default=20)
# Full jitter spreads a burst of retries after an outage; switched off only where exact delays
# must be observable (the retry-timing integration test, or when debugging an incident).
PAYMENTS_RETRY_JITTER = env.bool("PAYMENTS_RETRY_JITTER", default=True)
# How long a partial refund of a not yet settled sale waits before it looks again (Braintree
# settles once a day; the settlement tracker also re-sends waiting refunds as soon as it sees one).
PAYMENTS_REFUND_SETTLEMENT_POLL_SECONDS = env.int("PAYMENTS_REFUND_SETTLEMENT_POLL_SECONDS", default=600)

# Redis has no real acks: a message held longer than this since it was fetched is redelivered.
# It must exceed the longest retry countdown plus the task time limit, or retries run twice.
# Set in every place kombu reads it; the shortest value on a broker wins.
# https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Bounded socket waits so a dead broker fails a publish fast instead of hanging a request.
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "max_retries": 2,
}
# A publish from the API must never hold the request hostage: give up after ~0.5 s; the
# reconciler dispatches what was not published.
# https://docs.celeryq.dev/en/stable/userguide/calling.html#message-sending-retry
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# The hard budget of one publish from the services (payments/core/dispatch.py): its own
# connections wait at most half of it per socket step, with one immediate retry, so a POST answers
# 202 within about this long even when the broker accepts TCP and never answers. The order row is
# the outbox: what was not published stays pending and the reconciler dispatches it.
PAYMENTS_PUBLISH_TIMEOUT_SECONDS = env.float("PAYMENTS_PUBLISH_TIMEOUT_SECONDS", default=0.8)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep reconnecting through a long broker outage instead of exiting after 100 attempts.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# On a lost broker connection, let running tasks finish. Cancelling them is what prefork can do,
# but the threads pool of the payments worker cannot (TaskPool.kill_job raises NotImplementedError
# and the whole worker exits: the chaos harness's redis_restart showed it). A charge that finishes
# is harmless: its redelivered message is a no-op at the claim, and the order row is the record.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Warm shutdown (deploys): let in-flight sales finish, then restore unacked messages.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=20.0)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes every database connection before and after each task unless this
# is set; it then closes them only every 2 * N tasks. Connections are instead kept or dropped by
# Django's own rules (CONN_MAX_AGE, CONN_HEALTH_CHECKS, errors) in payments.tasks' task hooks.
# https://github.com/celery/celery/blob/main/celery/fixups/django.py (close_database)
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1_000_000)

# One beat, schedules in the database, editable in admin without a restart; django-celery-beat's
# scheduler, which here also rides out a database outage instead of exiting (payments/core/beat.py).
CELERY_BEAT_SCHEDULER = "payments.core.beat:DatabaseScheduler"
# Write each periodic task's last_run_at and total_run_count after every task beat sends. The
# default (0) writes them only every 3 minutes and at shutdown, so the admin's "Last run" stays
# "-" for the first minutes and after a crash. One UPDATE a minute is nothing.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#beat-sync-every
CELERY_BEAT_SYNC_EVERY = env.int("CELERY_BEAT_SYNC_EVERY", default=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A line written while serving a request names it: `request_id=<X-Request-ID>` (payments/core/logs.py).
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s"}},
    "filters": {
        "request_id": {"()": "payments.core.logs.RequestIdFilter"},
        "quiet_access": {"()": "payments.core.logs.QuietAccessLog"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "braintree": {"level": "WARNING"},
        # Django's own defaults give "django" a console handler of its own under DEBUG: every
        # django.request line (each 4xx/5xx) was printed twice. One handler, the root's, prints.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's access lines (`make run`): reads and errors at DEBUG, so a polling client
        # leaves a readable log and each 4xx/5xx is logged once, by django.request, with its id.
        "django.server": {"filters": ["quiet_access"], "handlers": [], "propagate": True},
        # Celery's "Task ... received" and "... succeeded in" lines: two per task, about as many
        # log writes as the charge's own work at INFO. Retries and failures are logged at WARNING
        # and ERROR and stay; CELERY_TASK_LOG_LEVEL=INFO brings the per-task lines back.
        "celery.worker.strategy": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.app.trace": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
    },
}

# --- Metrics and the ops dashboard (docs/how-to/metrics-and-alerts.md) ------------------------------------

# django-prometheus: request/response metrics. Before goes first, as its docs ask; After goes just
# before AxesMiddleware, which must stay last (django-axes), so After still sees the answer of
# every view and lockout (https://github.com/django-commons/django-prometheus#configuration). The
# database ENGINE stays Django's own: the payments gauges read the database at scrape time.
INSTALLED_APPS += ["django_prometheus"]
MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "django_prometheus.middleware.PrometheusAfterMiddleware"
)
PROMETHEUS_EXPORT_MIGRATIONS = False
# Set: GET /metrics needs `Authorization: Bearer <token>`. Unset: it answers loopback clients only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Counts by status are shared through the default cache for this long, so that many dashboards
# and scrapes cost one GROUP BY per interval (0: count on every read).
PAYMENTS_OPS_COUNTS_CACHE_SECONDS = env.int("PAYMENTS_OPS_COUNTS_CACHE_SECONDS", default=5)
# The dashboard's broker probe (queue depth) gives up after this long and shows "unknown".
PAYMENTS_OPS_BROKER_TIMEOUT_SECONDS = env.float("PAYMENTS_OPS_BROKER_TIMEOUT_SECONDS", default=1.0)
# --- RabbitMQ (only when CELERY_BROKER_URL is amqp://…; docs/how-to/brokers.md) -------
# https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/rabbitmq.html#using-quorum-queues
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    from payments.core.broker import rabbitmq_queues

    # Replicated (Raft) quorum queues, each on its own topic exchange: native delayed delivery
    # only routes countdowns/ETAs to topic (or fanout) exchanges. Poison messages (requeued past
    # PAYMENTS_RABBITMQ_DELIVERY_LIMIT) are dead-lettered to the "dead_letter" queue.
    PAYMENTS_RABBITMQ_DELIVERY_LIMIT = env.int("PAYMENTS_RABBITMQ_DELIVERY_LIMIT", default=20)
    CELERY_TASK_QUEUES = rabbitmq_queues(("payments", "default", "maintenance"), PAYMENTS_RABBITMQ_DELIVERY_LIMIT)
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    # Countdowns (retry backoff) wait in the broker's delay exchanges, not in worker memory.
    CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE = "quorum"
    # Quorum queues have no global QoS: the worker uses a static per-consumer prefetch of
    # prefetch_multiplier x concurrency (1 x N here), and never raises it for held ETAs.
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
    # After a lost connection Celery re-consumes at a prefetch reduced by the tasks still
    # running, and means to raise it with basic.qos as they finish; a quorum queue takes a
    # consumer's prefetch at basic.consume only, so the worker stayed at 1 until restarted
    # (tests/core/test_integration_rabbitmq.py). The running tasks' messages were already given back
    # by the broker, and a redelivery of a live charge waits on its claim lease.
    CELERY_WORKER_ENABLE_PREFETCH_COUNT_REDUCTION = False
    # Publisher confirms: a publish returns once the broker has the message, or fails within
    # the timeout (then the reconciler dispatches the order). The visibility timeout is Redis's.
    PAYMENTS_RABBITMQ_CONFIRM_TIMEOUT = env.float("PAYMENTS_RABBITMQ_CONFIRM_TIMEOUT", default=5.0)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True, "max_retries": 2}
    # kombu takes the confirm timeout per publish: every route carries it (retries and beat too).
    for _route in CELERY_TASK_ROUTES.values():
        _route["confirm_timeout"] = PAYMENTS_RABBITMQ_CONFIRM_TIMEOUT
    CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
