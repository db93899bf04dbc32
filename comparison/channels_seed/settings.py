"""The seed design: Channels 4 + channels_redis 4 with their defaults (capacity 100, expiry 60 s).

    DATABASE_URL=postgres://.../cmp_channels_x CHANNEL_LAYER_URL=redis://127.0.0.1:6379/15 \
    DJANGO_SETTINGS_MODULE=comparison.channels_seed.settings python manage.py runworker braintree_process
"""

import os

from comparison.settings_common import *  # noqa: F403
from comparison.settings_common import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "channels", "comparison.channels_seed"]
ROOT_URLCONF = "comparison.channels_seed.urls"
WSGI_APPLICATION = "comparison.channels_seed.wsgi.application"
ASGI_APPLICATION = "comparison.channels_seed.asgi.application"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # Only the host: capacity and expiry stay at channels_redis's defaults (100, 60 s). The
        # socket timeout is redis-py 7's (none): redis-py 8 (pinned by the product) made it 5 s,
        # the same as channels_redis's BZPOPMIN timeout, so an idle runworker died with
        # "Timeout reading" after 5 s (redis/redis-py#4091). A library mismatch, not the design.
        "CONFIG": {"hosts": [{"address": os.environ.get("CHANNEL_LAYER_URL", "redis://127.0.0.1:6379/0"),
                              "socket_timeout": None}]},
    }
}
