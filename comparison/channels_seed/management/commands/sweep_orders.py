from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand

from comparison.shop.handler import order_message, orders_to_requeue


class Command(BaseCommand):
    help = "Queue again every order with a nonce but no transaction id, or a transaction id but no final result."

    def handle(self, *args, **options):
        send = async_to_sync(get_channel_layer().send)
        count = 0
        # As the post: no age condition, no catch; a ChannelFull ends this run, the next run retries.
        for order in orders_to_requeue():
            send("braintree_process", order_message(order))
            count += 1
        self.stdout.write(f"re-queued {count} orders")
