"""The fake gateway's sandbox rules (payments/gateways/fake.py): amounts, nonces, keys, search."""

from decimal import Decimal

import pytest

from payments.core.exceptions import GatewayUnavailable
from payments.gateways import SaleOutcome
from payments.gateways.fake import FakeGateway


@pytest.fixture
def fake():
    return FakeGateway()


def sell(fake, amount="10.00", nonce="fake-valid-nonce", key="order-1:0", order_id="order-1"):
    return fake.sale(order_id=order_id, amount=Decimal(amount), nonce=nonce, api_request_key=key)


@pytest.mark.parametrize(
    ("amount", "outcome", "status", "code"),
    [
        ("10.00", SaleOutcome.APPROVED, "submitted_for_settlement", "1000"),
        ("1999.99", SaleOutcome.APPROVED, "submitted_for_settlement", "1000"),
        ("2000.00", SaleOutcome.DECLINED, "processor_declined", "2000"),
        ("2999.99", SaleOutcome.DECLINED, "processor_declined", "2999"),
        ("3000.00", SaleOutcome.PROCESSOR_FAILED, "failed", "3000"),
        ("3001.00", SaleOutcome.APPROVED, "submitted_for_settlement", "1000"),
        ("5001.00", SaleOutcome.REJECTED, "gateway_rejected", ""),
    ],
)
def test_the_amount_decides_the_sale_as_in_the_sandbox(fake, amount, outcome, status, code):
    # when
    result = sell(fake, amount=amount)
    # then
    assert (result.outcome, result.transaction.status, result.transaction.processor_response_code) == (
        outcome,
        status,
        code,
    )
    assert result.transaction.is_paid is (outcome == SaleOutcome.APPROVED)


@pytest.mark.parametrize(
    ("nonce", "outcome", "codes"),
    [
        ("fake-valid-visa-nonce", SaleOutcome.APPROVED, []),
        ("fake-processor-declined-visa-nonce", SaleOutcome.APPROVED, []),  # declines verification only
        ("fake-gateway-rejected-fraud-nonce", SaleOutcome.REJECTED, []),
        ("fake-consumed-nonce", SaleOutcome.INVALID, ["91564"]),
        ("fake-luhn-invalid-nonce", SaleOutcome.INVALID, ["81715"]),
        ("no-such-nonce", SaleOutcome.INVALID, ["91565"]),
    ],
)
def test_the_static_test_nonces_behave_as_in_the_sandbox(fake, nonce, outcome, codes):
    # when
    result = sell(fake, nonce=nonce)
    # then
    assert (result.outcome, result.error_codes) == (outcome, codes)
    assert len(fake.transactions()) == (0 if outcome == SaleOutcome.INVALID else 1)


def test_a_minted_nonce_is_single_use_except_after_a_processor_failure(fake):
    # given
    nonce = fake.mint_nonce()
    # when: a processor failure does not spend it, a sale does
    failed = sell(fake, amount="3000.00", nonce=nonce, key="a")
    approved = sell(fake, nonce=nonce, key="b")
    reused = sell(fake, nonce=nonce, key="c")
    # then
    assert (failed.outcome, approved.outcome) == (SaleOutcome.PROCESSOR_FAILED, SaleOutcome.APPROVED)
    assert (reused.outcome, reused.error_codes) == (SaleOutcome.INVALID, ["91564"])


def test_a_repeated_request_key_returns_the_original_sale_and_charges_once(fake):
    # given
    first = sell(fake, key="order-1:0")
    # when
    again = sell(fake, key="order-1:0")
    other_params = sell(fake, amount="11.00", key="order-1:0")
    # then
    assert again == first
    assert (other_params.outcome, other_params.error_codes) == (SaleOutcome.INVALID, ["915232"])
    assert len(fake.transactions()) == 1


def test_search_by_order_id_lists_that_orders_transactions_declined_ones_included(fake):
    # given
    declined = sell(fake, amount="2000.00", key="1").transaction
    approved = sell(fake, key="2").transaction
    sell(fake, order_id="order-2", key="3")
    # when / then
    assert fake.search_by_order_id("order-1") == [declined, approved]
    assert fake.find(approved.id) == approved
    assert fake.find("nope") is None


def test_a_lost_answer_still_charges_while_a_refused_call_does_not(fake):
    # given
    fake.fail_next("sale", applied=True)
    fake.fail_next("sale", applied=False)
    # when / then
    with pytest.raises(GatewayUnavailable):
        sell(fake, order_id="lost-answer", key="x:0")
    with pytest.raises(GatewayUnavailable):
        sell(fake, order_id="refused", key="y:0")
    assert [t.order_id for t in fake.transactions()] == ["lost-answer"]
