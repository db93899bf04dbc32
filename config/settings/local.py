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

# `make run` shows the whole life of a payment in a minute or two (docs/tutorial/getting-started.md):
# retries of an unavailable processor back off 1, 2, 4 s (production: 2 s doubling to 60 s, six
# times), and a partial refund of an unsettled sale looks again every 10 s. The local gateway
# simulator settles each sale on its own after BRAINTREE_SIM_SETTLE_AFTER_SECONDS (Procfile.dev)
# and posts the settlement webhook, which re-sends the waiting refund at once.
PAYMENTS_RETRY_BACKOFF = env.int("PAYMENTS_RETRY_BACKOFF", default=1)
PAYMENTS_RETRY_BACKOFF_MAX = env.int("PAYMENTS_RETRY_BACKOFF_MAX", default=4)
PAYMENTS_MAX_RETRIES = env.int("PAYMENTS_MAX_RETRIES", default=3)
PAYMENTS_REFUND_SETTLEMENT_POLL_SECONDS = env.int("PAYMENTS_REFUND_SETTLEMENT_POLL_SECONDS", default=10)
