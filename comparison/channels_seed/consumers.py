from channels.consumer import SyncConsumer

from comparison.shop.handler import braintree_process


class BraintreeProcessConsumer(SyncConsumer):
    """Messages of type "braintree.process" on the `braintree_process` channel run the post's handler."""

    def braintree_process(self, message):
        braintree_process(message)
