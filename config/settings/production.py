"""Production settings: refuse to start without a secret key and real gateway credentials."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BRAINTREE_ENVIRONMENT, env, env_bool

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")

for _name in ("BRAINTREE_MERCHANT_ID", "BRAINTREE_PUBLIC_KEY", "BRAINTREE_PRIVATE_KEY"):
    if not env(_name):
        raise ImproperlyConfigured(f"{_name} must be set in production")
if BRAINTREE_ENVIRONMENT not in {"sandbox", "production"}:
    raise ImproperlyConfigured("BRAINTREE_ENVIRONMENT must be 'sandbox' or 'production' in production")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
