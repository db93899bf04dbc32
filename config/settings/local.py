"""Development settings: `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = True
SECRET_KEY = env("DJANGO_SECRET_KEY", "local-development-only-not-a-secret")
BRAINTREE_MERCHANT_ID = env("BRAINTREE_MERCHANT_ID", "sim_merchant")
BRAINTREE_PUBLIC_KEY = env("BRAINTREE_PUBLIC_KEY", "sim_public_key")
BRAINTREE_PRIVATE_KEY = env("BRAINTREE_PRIVATE_KEY", "sim_private_key")
