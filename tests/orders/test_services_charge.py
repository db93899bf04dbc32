"""payments/orders/services/charge.py: claim, sell or adopt, record; and giving up, on the fake gateway."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments.core.exceptions import (
    GatewayMisconfigured,
    GatewayUnavailable,
    OrderLeased,
    ProcessorUnavailable,
)
from payments.core.statuses import OrderStatus
from payments.models import LastSaleOutcome, Order
from payments.orders.services import order_charge, order_give_up
from tests.factories import OrderFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db


def test_an_approved_sale_is_recorded_then_verified_in_the_same_call_without_a_second_task(
    fake, published, committed
):
    # given
    order = OrderFactory(amount=Decimal("12.34"))
    # when
    with committed():
        order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    [sale] = fake.transactions(str(order.pk))
    assert (order.status, order.transaction_id, order.gateway_status) == (
        OrderStatus.PAID,
        sale.id,
        "submitted_for_settlement",
    )
    assert (order.payment_method_nonce, order.last_sale_outcome, order.ever_claimed) == ("", "approved", True)
    assert order.lease_expires_at is None
    assert trail(order) == [
        ("claim", "claimed"),
        ("sale", "approved"),
        ("transition", "sale_approved"),
        ("find", "found"),
        ("transition", "verified_paid"),
    ]
    assert published == []


def test_a_find_the_gateway_cannot_answer_hands_the_sold_order_to_the_verify_task(fake, published):
    # given
    order = OrderFactory(amount=Decimal("12.34"))
    fake.fail_next("find")
    # when
    order_charge(order_id=order.pk)
    # then: sold, recorded, and verify_order_task (its own retry budget) is on its way
    order.refresh_from_db()
    assert (order.status, bool(order.transaction_id)) == (OrderStatus.PROCESSING, True)
    assert trail(order)[-1] == ("find", "unavailable")
    assert published == [("verify_order_task", str(order.pk))]


def test_a_redelivered_charge_of_a_recorded_sale_verifies_it(fake, published):
    # given: the sale is recorded, its find got no answer, and the charge message comes again
    # (the worker died before acknowledging it) before verify_order_task runs
    order = OrderFactory(amount=Decimal("12.34"))
    fake.fail_next("find")
    order_charge(order_id=order.pk)
    # when
    order_charge(order_id=order.pk)
    # then: verified, not sold again
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(fake.transactions(str(order.pk))) == 1
    assert [call[0] for call in fake.calls] == ["sale", "find", "find"]


def test_a_processor_decline_fails_the_order_with_the_processor_code(fake, published):
    # given: 2000.00-2999.99 is declined by the processor with that code
    order = OrderFactory(amount=Decimal("2001.00"))
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.gateway_status, order.processor_response_code) == (
        OrderStatus.FAILED,
        "processor_declined",
        "2001",
    )
    assert order.failure_reason == "Insufficient Funds"
    assert (order.payment_method_nonce, order.lease_expires_at) == ("", None)
    assert trail(order)[-1] == ("transition", "sale_declined")
    assert published == []


def test_a_gateway_rejection_fails_the_order(fake):
    # given
    order = OrderFactory(payment_method_nonce="fake-gateway-rejected-fraud-nonce")
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.gateway_status, order.last_sale_outcome) == (
        OrderStatus.FAILED,
        "gateway_rejected",
        LastSaleOutcome.REJECTED,
    )
    assert trail(order)[-1] == ("transition", "sale_rejected")


def test_processor_failures_are_sold_again_under_new_keys_then_fail_the_order(fake, settings):
    # given: 3000.00 makes the processor answer "failed" (3000) every time
    settings.PAYMENTS_MAX_RETRIES = 2
    order = OrderFactory(amount=Decimal("3000.00"))
    # when: the first try and each retry the task would make
    waiting = []
    for _ in range(settings.PAYMENTS_MAX_RETRIES):
        with pytest.raises(ProcessorUnavailable):
            order_charge(order_id=order.pk)
        between = Order.objects.get(pk=order.pk)
        assert between.transaction_id is None
        waiting.append((between.status, between.failure_reason, between.status_detail))
    order_charge(order_id=order.pk)
    # then: one sale per attempt, each under its own key, and no money moved
    order.refresh_from_db()
    assert (order.status, order.processor_response_code, order.sale_attempt) == (OrderStatus.FAILED, "3000", 2)
    # while it waited for each retry it said why in status_detail, not as a failure
    assert [(status, reason) for status, reason, _ in waiting] == [(OrderStatus.PROCESSING, "")] * 2
    assert [detail.split(";")[0].split(" on ")[1] for _, _, detail in waiting] == [
        "sale attempt 1 of 3", "sale attempt 2 of 3"
    ]
    # and once it failed, only the failure is said
    assert (order.status_detail, bool(order.failure_reason)) == ("", True)
    assert [call for call in fake.calls if call[0] == "sale"] == [("sale", f"{order.pk}:{n}") for n in range(3)]
    assert [t.status for t in fake.transactions(str(order.pk))] == ["failed"] * 3
    assert trail(order)[-1] == ("transition", "processor_failed_final")


def test_after_an_unknown_outcome_the_next_claim_searches_and_adopts_the_sale(fake, published, committed):
    # given: the sale goes through but its answer is lost
    order = OrderFactory()
    fake.fail_next("sale", applied=True)
    with pytest.raises(GatewayUnavailable):
        order_charge(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.last_sale_outcome, order.transaction_id) == (
        OrderStatus.PROCESSING,
        LastSaleOutcome.UNAVAILABLE,
        None,
    )
    assert order.lease_expires_at is None  # released: the retry may claim at once
    # when: the retry
    with committed():
        order_charge(order_id=order.pk)
    # then: the earlier sale is adopted, not sold again
    order.refresh_from_db()
    [sale] = fake.transactions(str(order.pk))
    assert order.transaction_id == sale.id
    assert ("search", "found_paid") in trail(order)
    assert order.status == OrderStatus.PAID
    assert [call[0] for call in fake.calls] == ["sale", "search", "find"]
    assert published == []


def test_after_a_sale_that_never_arrived_the_search_finds_nothing_and_sells_once(fake, committed):
    # given: the gateway was unreachable before it processed the sale
    order = OrderFactory()
    fake.fail_next("sale", applied=False)
    with pytest.raises(GatewayUnavailable):
        order_charge(order_id=order.pk)
    # when
    with committed():
        order_charge(order_id=order.pk)
    # then
    assert [call[0] for call in fake.calls] == ["sale", "search", "sale", "find"]
    assert len(fake.transactions(str(order.pk))) == 1


def test_a_consumed_nonce_is_looked_up_before_the_order_fails(fake):
    # given
    order = OrderFactory(payment_method_nonce="fake-consumed-nonce")
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.error_codes) == (OrderStatus.FAILED, ["91564"])
    assert trail(order)[1:] == [("sale", "invalid"), ("search", "no_paid_sale"), ("transition", "sale_invalid")]


def test_a_nonce_spent_by_the_orders_own_lost_sale_adopts_that_sale(fake, committed):
    # given: a single-use nonce spent by this order's sale under key :0, and a retry under key :1
    nonce = fake.mint_nonce()
    order = OrderFactory(payment_method_nonce=nonce, sale_attempt=1)
    first = fake.sale(order_id=str(order.pk), amount=order.amount, nonce=nonce, api_request_key=f"{order.pk}:0")
    # when
    with committed():
        order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.transaction_id == first.transaction.id
    assert ("search", "found_paid") in trail(order)
    assert len(fake.transactions(str(order.pk))) == 1


def test_a_delivery_while_another_claims_lease_is_live_sells_nothing_and_says_until_when(fake):
    # given
    lease_end = timezone.now() + timedelta(seconds=60)
    order = OrderFactory(status=OrderStatus.PROCESSING, claims=1, ever_claimed=True, lease_expires_at=lease_end)
    # when
    with pytest.raises(OrderLeased) as leased:
        order_charge(order_id=order.pk)
    # then
    assert leased.value.until == lease_end
    assert fake.calls == []
    assert Order.objects.get(pk=order.pk).claims == 1


def test_an_order_claimed_too_often_is_parked_for_review_without_selling(fake, settings):
    # given: a poison order whose workers kept dying
    order = OrderFactory(status=OrderStatus.PROCESSING, claims=settings.PAYMENTS_MAX_CLAIMS, ever_claimed=True)
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert trail(order) == [("claim", "claims_exhausted")]
    assert fake.calls == []


@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW])
def test_a_charge_of_a_settled_or_parked_order_does_nothing(fake, status):
    # given
    order = OrderFactory(status=status, transaction_id="fake000009" if status == OrderStatus.PAID else None)
    # when
    order_charge(order_id=order.pk)
    # then
    assert Order.objects.get(pk=order.pk).status == status
    assert fake.calls == []


def test_a_misconfigured_gateway_parks_the_order_instead_of_retrying(fake, monkeypatch):
    # given
    def refuse(**params):
        raise GatewayMisconfigured("Braintree sale refused: AuthenticationError")

    monkeypatch.setattr(fake, "sale", refuse)
    order = OrderFactory()
    # when
    with pytest.raises(GatewayMisconfigured):
        order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert order.failure_reason == "Braintree sale refused: AuthenticationError"


def test_a_gateway_that_refuses_the_find_after_a_sale_parks_the_order_with_its_sale_recorded(fake, monkeypatch):
    # given: the sale goes through, then the gateway refuses our credentials for the find
    def refuse(transaction_id):
        raise GatewayMisconfigured("Braintree find refused: AuthenticationError")

    monkeypatch.setattr(fake, "find", refuse)
    order = OrderFactory()
    # when
    with pytest.raises(GatewayMisconfigured):
        order_charge(order_id=order.pk)
    # then: parked for a human, and the sale is not orphaned
    order.refresh_from_db()
    [sale] = fake.transactions(str(order.pk))
    assert (order.status, order.transaction_id) == (OrderStatus.NEEDS_REVIEW, sale.id)
    assert trail(order)[1:] == [("sale", "approved"), ("transition", "sale_approved"), ("transition", "parked")]


def test_giving_up_after_an_unknown_outcome_parks_the_order_for_review(fake):
    # given: the last sale got no answer, so money may have moved
    order = OrderFactory(status=OrderStatus.PROCESSING, last_sale_outcome=LastSaleOutcome.UNAVAILABLE)
    # when
    order_give_up(order_id=order.pk, reason="Gave up after 6 retries")
    # then
    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (OrderStatus.NEEDS_REVIEW, "Gave up after 6 retries")
    assert order.payment_method_nonce == "fake-valid-nonce"
    assert trail(order) == [("transition", "retries_exhausted")]


def test_giving_up_after_processor_failures_fails_the_order(fake):
    # given: the processor kept answering 3000, a definite "no money moved"
    order = OrderFactory(status=OrderStatus.PROCESSING, last_sale_outcome=LastSaleOutcome.PROCESSOR_FAILED)
    # when
    order_give_up(order_id=order.pk, reason="Gave up after 6 retries")
    # then
    order.refresh_from_db()
    assert (order.status, order.payment_method_nonce) == (OrderStatus.FAILED, "")
    assert trail(order) == [("transition", "processor_failed_final")]


def test_giving_up_on_a_sold_order_whose_verify_failed_parks_it(fake):
    # given: the sale is recorded, the finds kept failing
    order = OrderFactory(
        status=OrderStatus.PROCESSING, transaction_id="fake000001", last_sale_outcome=LastSaleOutcome.PROCESSOR_FAILED
    )
    # when
    order_give_up(order_id=order.pk, reason="find unavailable")
    # then
    assert Order.objects.get(pk=order.pk).status == OrderStatus.NEEDS_REVIEW


@pytest.mark.parametrize(
    "state",
    [
        {"status": OrderStatus.PROCESSING, "lease_expires_at": timezone.now() + timedelta(minutes=5)},
        {"status": OrderStatus.PENDING},
        {"status": OrderStatus.PAID, "transaction_id": "fake000001"},
    ],
    ids=["another-claim-is-live", "pending", "paid"],
)
def test_giving_up_leaves_an_order_that_someone_else_owns_or_that_is_settled(fake, state):
    # given
    order = OrderFactory(**state)
    # when
    order_give_up(order_id=order.pk, reason="retries exhausted")
    # then
    assert Order.objects.get(pk=order.pk).status == state["status"]
    assert not order.events.exists()


def test_a_paid_charge_is_two_short_transactions_of_one_select_update_and_insert_each(fake, published):
    # given
    order = OrderFactory(amount=Decimal("12.34"))
    # when
    with CaptureQueriesContext(connection) as queries:
        order_charge(order_id=order.pk)
    # then: the claim; then, after the sale and the find, the sale's record with its call's row, the
    # find's row and the verdict; in the test's own transaction each atomic block is a savepoint
    blocks, block = [], None
    for sql in (q["sql"] for q in queries.captured_queries):
        if sql.startswith("SAVEPOINT"):
            block = []
        elif sql.startswith("RELEASE SAVEPOINT"):
            blocks.append(block)
            block = None
        else:
            assert block is not None, f"statement outside a transaction: {sql[:80]}"
            block.append(sql.split()[0] + (" FOR UPDATE" if sql.endswith("FOR UPDATE") else ""))
    assert blocks == [["SELECT FOR UPDATE", "UPDATE", "INSERT"]] * 2
    assert len(trail(order)) == 5
