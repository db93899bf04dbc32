import pytest

from payments.exceptions import IllegalTransition
from payments.models import OrderEvent, OrderStatus
from payments.services.lifecycle import transition_locked
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_transition_saves_status_and_appends_audit_row():
    # given
    order = OrderFactory(status=OrderStatus.PENDING)
    # when
    transition_locked(order, OrderStatus.PROCESSING, outcome=OrderEvent.Outcome.CLAIMED)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    attempt = order.events.get()
    assert (attempt.from_status, attempt.to_status, attempt.outcome) == ("pending", "processing", "claimed")


@pytest.mark.parametrize("terminal", [OrderStatus.PAID, OrderStatus.FAILED])
def test_transition_out_of_a_final_status_is_refused(terminal):
    # given
    order = OrderFactory(status=terminal, transaction_id="abc123")
    # when / then
    with pytest.raises(IllegalTransition):
        transition_locked(order, OrderStatus.PROCESSING, outcome=OrderEvent.Outcome.CLAIMED)
    order.refresh_from_db()
    assert order.status == terminal
    assert not OrderEvent.objects.filter(order=order).exists()
