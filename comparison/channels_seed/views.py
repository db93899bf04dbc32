from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.views.decorators.csrf import csrf_exempt

from comparison.shop.views import create_order


def send_to_braintree_process(order, message):
    # The post's Channel("braintree_process").send({...}) in Channels 4 terms. ChannelFull or a
    # Redis error propagates: the client gets a 500 and the stored order waits for the sweeper.
    async_to_sync(get_channel_layer().send)("braintree_process", message)


@csrf_exempt
def order_create(request):
    return create_order(request, send_to_braintree_process)
