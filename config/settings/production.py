"""Production settings: refuse to start on any development fallback.

`config.wsgi` and `celery_app` default to this module, so a process started without
DJANGO_SETTINGS_MODULE either runs safely or does not start; it never runs on local settings
(DEBUG on, a public signing key, the simulator's credentials, where `fake-valid-nonce` pays).
Everything this module refuses raises ImproperlyConfigured at import, before any request or task.
Security headers follow `manage.py check --deploy`:
https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import comma_list, env, merchant_accounts, refuse_other_currency_list

from .base import *  # noqa: F403
from .base import DATABASE_CONN_MAX_AGE_DEFAULT, DEV_SECRET_KEY, SIMULATOR_CREDENTIALS

# Django's own bar for a signing key (security.W009): long, varied, not a generated insecure key.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
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
        f"random characters); generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
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
