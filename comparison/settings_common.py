"""Settings shared by the two reference designs (comparison/README.md); every value from the environment.

Each design has its own settings module on top of this one and its own database
(DATABASE_URL); nothing in the product imports comparison/.
"""

import os

import environ

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "comparison-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "comparison.shop"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}

# The post configures the SDK once at start-up and calls braintree.Transaction.* directly.
BRAINTREE_ENVIRONMENT = os.environ.get("BRAINTREE_ENVIRONMENT", "simulator")
BRAINTREE_SIMULATOR_URL = os.environ.get("BRAINTREE_SIMULATOR_URL", "http://127.0.0.1:8600")
BRAINTREE_MERCHANT_ID = os.environ.get("BRAINTREE_MERCHANT_ID", "sim_merchant")
BRAINTREE_PUBLIC_KEY = os.environ.get("BRAINTREE_PUBLIC_KEY", "sim_public_key")
BRAINTREE_PRIVATE_KEY = os.environ.get("BRAINTREE_PRIVATE_KEY", "sim_private_key")
# The SDK's own default is 60 s; the benchmark passes every design the same client timeout.
BRAINTREE_TIMEOUT_SECONDS = int(os.environ.get("BRAINTREE_TIMEOUT_SECONDS", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
