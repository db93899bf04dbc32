"""Nonces minted through POST /__sim__/nonces: single use, expiry and the failed-sale rule."""

import time
from concurrent.futures import ThreadPoolExecutor

from tests.sim.helpers import sale


def test_minted_nonce_authorizes_a_sale_with_its_card(gateway, control):
    # given
    nonce = control.mint_nonce("5555555555554444", "07/2032")

    # when
    result = sale(gateway, nonce=nonce)

    # then
    assert result.is_success
    card = result.transaction.credit_card_details
    assert (card.last_4, card.card_type, card.expiration_date) == ("4444", "MasterCard", "07/2032")


def test_second_sale_with_a_minted_nonce_is_rejected_with_91564(gateway, control):
    # given
    nonce = control.mint_nonce()
    sale(gateway, nonce=nonce)

    # when
    result = sale(gateway, nonce=nonce)

    # then
    assert result.errors.for_object("transaction").on("payment_method_nonce")[0].code == "91564"


def test_declined_sale_consumes_the_nonce(gateway, control):
    # given
    nonce = control.mint_nonce()
    sale(gateway, "2000.00", nonce=nonce)

    # when
    result = sale(gateway, "10.00", nonce=nonce)

    # then
    assert result.errors.for_object("transaction").on("payment_method_nonce")[0].code == "91564"


def test_failed_sale_leaves_the_nonce_usable_for_a_retry(gateway, control):
    # given
    nonce = control.mint_nonce()
    failed = sale(gateway, "3000.00", nonce=nonce, api_request_key="attempt-1")

    # when
    retried = sale(gateway, "10.00", nonce=nonce, api_request_key="attempt-2")

    # then
    assert failed.transaction.status == "failed"
    assert retried.is_success


def test_expired_nonce_is_rejected_with_91565(gateway, control):
    # given
    nonce = control.mint_nonce(ttl_seconds=0.1)
    time.sleep(0.2)

    # when
    result = sale(gateway, nonce=nonce)

    # then
    assert result.errors.for_object("transaction").on("payment_method_nonce")[0].code == "91565"


def test_concurrent_sales_with_one_nonce_succeed_exactly_once(gateway, control):
    # given
    nonce = control.mint_nonce()

    # when
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: sale(gateway, nonce=nonce), range(8)))

    # then
    assert sum(result.is_success for result in results) == 1
    assert len(control.ledger()) == 1


def test_tokenizing_an_invalid_card_is_rejected(control):
    # when
    response = control.post("/__sim__/nonces", {"number": "4111111111111112",
                                                "expiration_date": "12/2030"})

    # then
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "81715"
