"""Authentication, routing, malformed input and the /__sim__ control API."""

import braintree
import pytest
import requests

from tests.sim.helpers import DEFAULT, sale, sdk_gateway

AUTH = (DEFAULT.public_key, DEFAULT.private_key)


def test_wrong_private_key_raises_authentication_error(sim, control):
    # given
    gateway = sdk_gateway(sim.url, private_key="wrong")

    # when / then
    with pytest.raises(braintree.exceptions.AuthenticationError):
        sale(gateway)
    assert control.ledger() == []


def test_unknown_merchant_raises_not_found(sim):
    # given
    gateway = sdk_gateway(sim.url, merchant_id="someone_else")

    # when / then
    with pytest.raises(braintree.exceptions.NotFoundError):
        sale(gateway)


def test_unknown_route_answers_404(sim, control):
    # when
    response = control.session.get(f"{sim.url}/merchants/{DEFAULT.merchant_id}/customers/1",
                                   auth=AUTH)

    # then
    assert response.status_code == 404


def test_malformed_xml_answers_400_and_the_server_keeps_serving(sim, control, gateway):
    # when
    response = control.session.post(
        f"{sim.url}/merchants/{DEFAULT.merchant_id}/transactions", data=b"<transaction><amount>",
        auth=AUTH, headers={"Content-Type": "application/xml"})

    # then
    assert response.status_code == 400
    assert b"Malformed XML" in response.content
    assert sale(gateway).is_success


def test_health_reports_ready(control):
    # when
    health = control.get("/__sim__/health")

    # then
    assert health == {"status": "ok", "merchant_id": DEFAULT.merchant_id}


def test_ledger_lists_transactions_filtered_by_order_id(gateway, control):
    # given
    tx = sale(gateway, "12.00", order_id="ledger-1", api_request_key="ledger-key").transaction
    sale(gateway, order_id="ledger-2")

    # when
    rows = control.ledger(order_id="ledger-1")

    # then
    assert rows == [{
        "id": tx.id, "order_id": "ledger-1", "type": "sale", "status": "authorized",
        "amount": "12.00", "currency_iso_code": "USD",
        "merchant_account_id": "sim_merchant_account", "api_request_key": "ledger-key",
        "payment_method_token": None,
        "created_at": tx.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "refunded_transaction_id": None, "refund_ids": [], "dispute_ids": [],
        "processor_response_code": "1000", "processor_settlement_response_code": None,
        "status_history": [{"status": "authorized", "amount": "12.00"}],
    }]


def test_reset_clears_ledger_nonces_and_faults(gateway, control):
    # given
    nonce = control.mint_nonce()
    sale(gateway)
    control.set_faults({"kind": "error", "status": 500, "paths": ["/nothing"]})

    # when
    control.post("/__sim__/reset")

    # then
    assert control.ledger() == []
    assert control.get("/__sim__/faults")["rules"] == []
    assert sale(gateway, nonce=nonce).errors.deep_errors[0].code == "91565"


def test_posted_faults_are_reported_back(control):
    # when
    control.set_faults({"kind": "latency", "latency_ms": 5, "methods": ["get"]}, seed=7)

    # then
    faults = control.get("/__sim__/faults")
    assert faults["seed"] == 7
    assert faults["rules"][0]["kind"] == "latency"
    assert faults["rules"][0]["methods"] == ["GET"]


@pytest.mark.parametrize("doc", [
    {"rules": [{"kind": "explode"}]},
    {"rules": [{"kind": "error", "status": 418}]},
    {"rules": [{"kind": "error", "rate": 2}]},
    {"rules": "nope"},
])
def test_invalid_fault_json_is_rejected_with_400(control, doc):
    # when
    response = control.post("/__sim__/faults", doc)

    # then
    assert response.status_code == 400
    assert control.get("/__sim__/faults")["rules"] == []


def test_unknown_control_route_answers_404(control):
    # when
    response = control.session.get(control.base_url + "/__sim__/nothing")

    # then
    assert response.status_code == 404


def test_bad_request_without_auth_header_answers_401(sim):
    # when
    response = requests.post(f"{sim.url}/merchants/{DEFAULT.merchant_id}/transactions",
                             data=b"<transaction/>", proxies={"http": None})

    # then
    assert response.status_code == 401
