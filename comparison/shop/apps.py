from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "comparison.shop"
    label = "shop"

    def ready(self):
        from comparison.shop.handler import configure_braintree

        configure_braintree()
