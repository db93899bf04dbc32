from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from payments.models import Customer, Order, PaymentMethod


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


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    owner = factory.SubFactory(UserFactory)


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    """An active saved card by default (pass status=... for another)."""

    class Meta:
        model = PaymentMethod

    customer = factory.SubFactory(CustomerFactory)
    status = "active"
    card_type = "Visa"
    last_4 = "1111"
    expiration_month = "12"
    expiration_year = "2030"
    is_default = True
