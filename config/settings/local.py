"""Development settings: `make run`. DEBUG is always on here, whatever DJANGO_DEBUG says."""

from config.env import env

from .base import *  # noqa: F403
from .base import DATABASES, DEV_SECRET_KEY, SIMULATOR_CREDENTIALS

DEBUG = True
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
BRAINTREE_MERCHANT_ID = env.str("BRAINTREE_MERCHANT_ID", default=SIMULATOR_CREDENTIALS["BRAINTREE_MERCHANT_ID"])
BRAINTREE_PUBLIC_KEY = env.str("BRAINTREE_PUBLIC_KEY", default=SIMULATOR_CREDENTIALS["BRAINTREE_PUBLIC_KEY"])
BRAINTREE_PRIVATE_KEY = env.str("BRAINTREE_PRIVATE_KEY", default=SIMULATOR_CREDENTIALS["BRAINTREE_PRIVATE_KEY"])

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run` puts web, two workers and beat on one SQLite file. Writers wait for the lock
    # (timeout) instead of failing at once; IMMEDIATE takes the write lock at BEGIN so a
    # read-then-write transaction cannot deadlock against another writer; WAL lets readers run
    # beside the writer. https://docs.djangoproject.com/en/5.2/ref/databases/#database-is-locked-errors
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL",
    }
