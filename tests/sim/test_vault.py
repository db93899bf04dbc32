"""The simulator's vault over the real SDK: customers, stored cards, and sales on a reusable token."""

import braintree
import pytest

from braintree_sim.config import SimConfig
from braintree_sim.server import make_server
from tests.sim.helpers import sdk_gateway


def _store(gateway, token="tok1", customer_id="cust1", nonce="fake-valid-visa-nonce", **options):
    gateway.customer.create({"id": customer_id})
    return gateway.payment_method.create({
        "customer_id": customer_id, "payment_method_nonce": nonce, "token": token,
        "options": {"verify_card": True, **options},
    })


def test_a_stored_card_answers_with_its_token_and_masked_facts(gateway):
    # when
    result = _store(gateway, make_default=True)
    # then
    card = result.payment_method
    assert result.is_success
    assert (card.token, card.card_type, card.last_4, card.default) == ("tok1", "Visa", "1111", True)
    assert card.masked_number == "411111******1111"
    assert gateway.payment_method.find("tok1").customer_id == "cust1"
    assert [m.token for m in gateway.customer.find("cust1").payment_methods] == ["tok1"]


def test_every_sale_on_a_stored_token_is_a_new_charge(gateway, control):
    # given
    _store(gateway)
    # when
    first = gateway.transaction.sale({"amount": "10.00", "payment_method_token": "tok1", "order_id": "o-1"})
    second = gateway.transaction.sale({"amount": "10.00", "payment_method_token": "tok1", "order_id": "o-1"})
    # then: no 91564 stops the second one
    assert first.is_success and second.is_success
    assert first.transaction.id != second.transaction.id
    assert first.transaction.credit_card_details.token == "tok1"
    assert first.transaction.customer_details.id == "cust1"
    assert [row["payment_method_token"] for row in control.ledger(order_id="o-1")] == ["tok1", "tok1"]


def test_a_repeated_api_request_key_on_a_token_replays_the_first_sale(gateway, control):
    # given
    _store(gateway)
    params = {"amount": "10.00", "payment_method_token": "tok1", "order_id": "o-2", "api_request_key": "o-2:0"}
    # when
    first = gateway.transaction.sale(params)
    again = gateway.transaction.sale(params)
    # then
    assert first.transaction.id == again.transaction.id
    assert len(control.ledger(order_id="o-2")) == 1


def test_a_second_store_under_the_same_token_is_refused_with_91719(gateway):
    # given
    _store(gateway)
    # when
    again = gateway.payment_method.create({"customer_id": "cust1", "payment_method_nonce": "fake-valid-nonce",
                                           "token": "tok1"})
    # then
    assert not again.is_success
    assert [e.code for e in again.errors.deep_errors] == ["91719"]


def test_a_processor_declined_nonce_fails_verification_and_stores_nothing(gateway):
    # when
    result = _store(gateway, nonce="fake-processor-declined-visa-nonce")
    # then
    assert not result.is_success
    verification = result.credit_card_verification
    assert (verification.status, verification.processor_response_code) == ("processor_declined", "2000")
    with pytest.raises(braintree.exceptions.NotFoundError):
        gateway.payment_method.find("tok1")


def test_a_deleted_token_can_never_be_charged_again(gateway):
    # given
    _store(gateway)
    # when
    assert gateway.payment_method.delete("tok1").is_success
    sale = gateway.transaction.sale({"amount": "10.00", "payment_method_token": "tok1"})
    # then
    assert not sale.is_success
    assert [e.code for e in sale.errors.deep_errors] == ["91518"]


def test_a_sale_on_a_customer_charges_its_default_card(gateway):
    # given
    _store(gateway)
    # when
    sale = gateway.transaction.sale({"amount": "10.00", "customer_id": "cust1"})
    # then
    assert sale.is_success and sale.transaction.credit_card_details.token == "tok1"


def test_store_in_vault_on_success_keeps_the_card_of_a_nonce_sale(gateway):
    # when
    sale = gateway.transaction.sale({"amount": "10.00", "payment_method_nonce": "fake-valid-nonce",
                                     "options": {"store_in_vault_on_success": True}})
    # then
    token = sale.transaction.credit_card_details.token
    assert token and gateway.payment_method.find(token).customer_id == sale.transaction.customer_details.id


def test_a_customer_created_with_a_card_and_deleted_takes_its_cards_along(gateway):
    # given
    created = gateway.customer.create({"credit_card": {"number": "4111111111111111", "expiration_date": "05/2030",
                                                       "token": "tok9", "options": {"verify_card": True}}})
    # when
    gateway.customer.delete(created.customer.id)
    # then
    with pytest.raises(braintree.exceptions.NotFoundError):
        gateway.customer.find(created.customer.id)
    with pytest.raises(braintree.exceptions.NotFoundError):
        gateway.payment_method.find("tok9")


def test_the_vault_survives_a_restart_with_a_state_file(tmp_path):
    # given
    state = str(tmp_path / "sim.sqlite")
    with make_server(SimConfig(port=0, seed=1, state_path=state)).start() as first:
        _store(sdk_gateway(first.url))
    # when
    with make_server(SimConfig(port=0, seed=1, state_path=state)).start() as second:
        found = sdk_gateway(second.url).payment_method.find("tok1")
    # then
    assert found.token == "tok1"
