from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from payments.models import Order


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"client{n}")
    password = factory.django.Password("pw")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    owner = factory.SubFactory(UserFactory)
    amount = Decimal("10.00")
    currency = "USD"
    merchant_account_id = "sim_merchant_account"
    payment_method_nonce = "fake-valid-nonce"
