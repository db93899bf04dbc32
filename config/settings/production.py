"""Production settings: refuse to start on any development fallback or open configuration.

`config.wsgi` and `celery_app` default to this module, so a process started without
DJANGO_SETTINGS_MODULE either runs safely or does not start; it never runs on local settings
(DEBUG on, a public signing key, the simulator's credentials, where `fake-valid-nonce` pays).
Everything this module refuses raises ImproperlyConfigured at import, before any request or task
(and so `manage.py check --deploy` fails too), naming the variable and the fix; docs/security.md
lists the refusals.
Security headers follow `manage.py check --deploy`:
https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import comma_list, env, merchant_accounts, refuse_other_currency_list
from config.security import NO_PROXIES, SECRET_KEY_MIN_GUESSES_LOG10, secret_key_guesses_log10, trusted_proxies

from .base import *  # noqa: F403
from .base import DATABASE_CONN_MAX_AGE_DEFAULT, DEV_SECRET_KEY, SIMULATOR_CREDENTIALS, SPECTACULAR_SETTINGS

# Django's own bar for a signing key (security.W009): long, varied, not a generated insecure key.
# Django's bar lets a pattern such as "abcde" * 10 through; the guess estimate below does not.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
GENERATE_SECRET = "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`"
# A bearer token anyone could guess would make /metrics public again.
METRICS_TOKEN_MIN_LENGTH = 32
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def refuse(message):
    raise ImproperlyConfigured(f"Production settings refuse to start: {message}")


DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    refuse("DJANGO_DEBUG is on; debug pages show settings and tracebacks to anyone.")

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    refuse("DJANGO_SECRET_KEY is not set.")
if (
    SECRET_KEY == DEV_SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
):
    refuse(
        f"DJANGO_SECRET_KEY is a development key or too weak (at least {SECRET_KEY_MIN_LENGTH} "
        f"random characters); generate one with {GENERATE_SECRET}."
    )
if secret_key_guesses_log10(SECRET_KEY) < SECRET_KEY_MIN_GUESSES_LOG10:
    # The value is never echoed: even a weak key is a secret.
    refuse(
        "DJANGO_SECRET_KEY has too little entropy (a repeated, sequential or dictionary pattern); "
        f"generate a random one with {GENERATE_SECRET}."
    )

# "*" would answer any Host header: password-reset links and absolute URLs (the Location of a
# new order) could then name an attacker's host. List the names the proxy forwards.
ALLOWED_HOSTS = comma_list("DJANGO_ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    refuse("DJANGO_ALLOWED_HOSTS is not set; list the host names clients use, e.g. payments.example.com.")
if any("*" in host for host in ALLOWED_HOSTS):
    refuse("DJANGO_ALLOWED_HOSTS contains '*'; list the host names clients use, e.g. payments.example.com.")

# The in-process fake gateway pays sandbox nonces and its webhook signing key is in the
# repository: anyone could sign a notification. Production talks to Braintree only.
PAYMENTS_GATEWAY = env.str("PAYMENTS_GATEWAY", default="braintree")
if PAYMENTS_GATEWAY != "braintree":
    refuse(f"PAYMENTS_GATEWAY is {PAYMENTS_GATEWAY!r}; production uses 'braintree' (unset the variable).")

# Without a token /metrics answers every loopback peer, and behind a proxy on the same host every
# client is one. https://prometheus.io/docs/prometheus/latest/configuration/configuration/#authorization
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if len(METRICS_TOKEN) < METRICS_TOKEN_MIN_LENGTH:
    refuse(
        f"METRICS_TOKEN is not set or shorter than {METRICS_TOKEN_MIN_LENGTH} characters; generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` and give Prometheus the same "
        "as its bearer token."
    )

# Who may say who the client is: the throttles, the login lockout and the logs depend on it, and
# either default is wrong for someone (docs/security.md).
TRUSTED_PROXIES = trusted_proxies("TRUSTED_PROXIES", default=None)
if TRUSTED_PROXIES is None:
    refuse(
        "TRUSTED_PROXIES is not set; name the reverse proxies in front of the web process "
        f"(e.g. 127.0.0.1 for a proxy on the same host, the ingress pods' network in Kubernetes), or {NO_PROXIES!r} "
        "when clients connect directly."
    )

# Sandbox only when asked for by name; the simulator never.
BRAINTREE_ENVIRONMENT = env.str("BRAINTREE_ENVIRONMENT", default="production")
if BRAINTREE_ENVIRONMENT not in {"sandbox", "production"}:
    refuse(f"BRAINTREE_ENVIRONMENT must be 'production' or 'sandbox', not {BRAINTREE_ENVIRONMENT!r}.")


def gateway_credential(name):
    value = env.str(name, default="")
    if not value:
        refuse(f"{name} is not set.")
    if value == SIMULATOR_CREDENTIALS[name] or value.startswith("sim_"):
        # Name the variable only: the value of the private key is a secret.
        refuse(f"{name} is a gateway simulator credential.")
    return value


BRAINTREE_MERCHANT_ID = gateway_credential("BRAINTREE_MERCHANT_ID")
BRAINTREE_PUBLIC_KEY = gateway_credential("BRAINTREE_PUBLIC_KEY")
BRAINTREE_PRIVATE_KEY = gateway_credential("BRAINTREE_PRIVATE_KEY")

# Which account charges which currency is a business decision: never a default here.
BRAINTREE_MERCHANT_ACCOUNTS = merchant_accounts("BRAINTREE_MERCHANT_ACCOUNTS", default={})
if not BRAINTREE_MERCHANT_ACCOUNTS:
    refuse("BRAINTREE_MERCHANT_ACCOUNTS is not set (e.g. USD:acct_usd,GBP:acct_gbp).")
if any(account.startswith("sim_") for account in BRAINTREE_MERCHANT_ACCOUNTS.values()):
    refuse("BRAINTREE_MERCHANT_ACCOUNTS names a gateway simulator merchant account.")
refuse_other_currency_list(BRAINTREE_MERCHANT_ACCOUNTS)

# No SQLite file, no broker or cache on localhost by default: each must be named.
DATABASES = {"default": env.db_url("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file, one writer: the claims and row locks that keep a charge exactly once need PostgreSQL.
    refuse("DATABASE_URL names SQLite; production needs PostgreSQL, e.g. postgres://user@db-host:5432/payments.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=DATABASE_CONN_MAX_AGE_DEFAULT)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
# Throttle counters live in the cache: a per-process cache would give every gunicorn worker its
# own budget and multiply every rate by the number of workers.
CACHES = {"default": env.cache_url("CACHE_URL")}
if CACHES["default"]["BACKEND"] in PROCESS_LOCAL_CACHES:
    refuse("CACHE_URL must name a cache shared by every process (e.g. redis://host:6379/2).")

# HTTPS only, behind a proxy that sets X-Forwarded-Proto (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# HSTS: a year by default. Lower DJANGO_SECURE_HSTS_SECONDS (e.g. 60) while first rolling HTTPS
# out; the preload flag only signals consent, nothing is preloaded until the domain is submitted.
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
# The admin's forms behind a TLS-terminating proxy on another origin, e.g. https://admin.example.com.
CSRF_TRUSTED_ORIGINS = comma_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The OpenAPI schema and Swagger UI for staff sessions only (log in to the admin first): they
# map every route and field for whoever asks. https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"]}
