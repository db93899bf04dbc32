"""The admin's refund action goes through refund_create, and refusals become messages."""

from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.admin.sites import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from payments.refunds.admin import refund_in_full
from payments.core.statuses import OrderStatus
from payments.models import Order, Refund
from payments.tasks import refund_order_task
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_refund_action_refunds_paid_orders_and_reports_the_others():
    # given
    paid = OrderFactory(status=OrderStatus.PAID, transaction_id="t1", amount=Decimal("8.00"))
    pending = OrderFactory()
    request = RequestFactory().post("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    request.session = {}
    request._messages = FallbackStorage(request)
    # when
    with mock.patch.object(refund_order_task, "apply_async"):
        refund_in_full(site._registry[Order], request, Order.objects.filter(pk__in=[paid.pk, pending.pk]))
    # then
    assert list(Refund.objects.values_list("order_id", "amount")) == [(paid.pk, Decimal("8.00"))]
    texts = [m.message for m in request._messages]
    assert any("queued" in t for t in texts) and any("Only a paid order" in t for t in texts)
