"""`manage.py runworker braintree_process` serves this application's "channel" protocol."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comparison.channels_seed.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ChannelNameRouter, ProtocolTypeRouter  # noqa: E402

from comparison.channels_seed.consumers import BraintreeProcessConsumer  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "channel": ChannelNameRouter({"braintree_process": BraintreeProcessConsumer.as_asgi()}),
})
