import pytest

from payments.exceptions import IllegalTransition
from payments.models import OrderAttempt, OrderStatus
from payments.services import _transition
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_transition_saves_status_and_appends_audit_row():
    # given
    order = OrderFactory(status=OrderStatus.PENDING)
    # when
    _transition(order, OrderStatus.PROCESSING, outcome="claimed")
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    attempt = order.attempts.get()
    assert (attempt.from_status, attempt.to_status, attempt.outcome) == ("pending", "processing", "claimed")


@pytest.mark.parametrize("terminal", [OrderStatus.PAID, OrderStatus.FAILED])
def test_transition_out_of_a_final_status_is_refused(terminal):
    # given
    order = OrderFactory(status=terminal, transaction_id="abc123")
    # when / then
    with pytest.raises(IllegalTransition):
        _transition(order, OrderStatus.PROCESSING)
    order.refresh_from_db()
    assert order.status == terminal
    assert not OrderAttempt.objects.filter(order=order).exists()
