"""Transactions carry every field of Braintree's Transaction response object the SDK exposes."""

import braintree

from tests.sim.helpers import sale, settled_sale

# Braintree's Transaction response object for a card transaction (developer.paypal.com/braintree
# /docs/reference/response/transaction/python), as attributes of the SDK's Transaction.
TRANSACTION_FIELDS = (
    "acquirer_reference_number", "add_ons", "additional_processor_response", "amount",
    "authorization_adjustments", "authorization_expires_at", "avs_error_response_code",
    "avs_postal_code_response_code", "avs_street_address_response_code", "billing_details",
    "channel", "created_at", "credit_card_details", "currency_iso_code", "custom_fields",
    "customer_details", "cvv_response_code", "debit_network", "descriptor",
    "disbursement_details", "discount_amount", "discounts", "disputes", "escrow_status",
    "gateway_rejection_reason", "global_id", "graphql_id", "id", "installment_count",
    "master_merchant_account_id", "merchant_account_id", "merchant_address",
    "merchant_identification_number", "merchant_name", "network_response_code",
    "network_response_text", "network_transaction_id", "order_id", "partially_authorized",
    "payment_instrument_type", "pin_verified", "plan_id", "processed_with_network_token",
    "processor_authorization_code", "processor_response_code", "processor_response_text",
    "processor_response_type", "processor_settlement_response_code",
    "processor_settlement_response_text", "purchase_order_number", "recurring", "refund_ids",
    "refunded_transaction_id", "retried", "retried_transaction_id", "retrieval_reference_number",
    "retry_ids", "risk_data", "sca_exemption_requested", "service_fee_amount",
    "settlement_batch_id", "shipping_amount", "shipping_details", "shipping_tax_amount",
    "ships_from_postal_code", "status", "status_history", "sub_merchant_account_id",
    "subscription_details", "subscription_id", "surcharge_amount", "tax_amount", "tax_exempt",
    "three_d_secure_info", "type", "updated_at", "voice_referral_number",
)
ADDRESS_FIELDS = ("id", "first_name", "last_name", "company", "street_address",
                  "extended_address", "locality", "region", "postal_code", "country_name",
                  "country_code_alpha2")
CARD_FIELDS = ("token", "bin", "last_4", "card_type", "expiration_month", "expiration_year",
               "customer_location", "cardholder_name", "masked_number", "expiration_date",
               "is_expired", "debit", "prepaid", "commercial", "payroll", "healthcare",
               "durbin_regulated", "country_of_issuance", "issuing_bank", "product_id",
               "image_url", "unique_number_identifier")


def _missing(obj, names):
    return [name for name in names if not hasattr(obj, name)]


def _transactions(gateway):
    settled = settled_sale(gateway, order_id="fields")
    return {
        "authorized sale": sale(gateway).transaction,
        "declined sale": sale(gateway, "2000.00").transaction,
        "settled sale, found": gateway.transaction.find(settled.id),
        "refund": gateway.transaction.refund(settled.id, "1.00").transaction,
        "search result": gateway.transaction.search(
            braintree.TransactionSearch.id == settled.id).first,
    }


def test_every_transaction_answer_carries_every_response_field(gateway):
    # when
    transactions = _transactions(gateway)

    # then
    for label, tx in transactions.items():
        assert _missing(tx, TRANSACTION_FIELDS) == [], label
        assert _missing(tx.credit_card_details, CARD_FIELDS) == [], label
        assert _missing(tx.billing_details, ADDRESS_FIELDS) == [], label
        assert _missing(tx.shipping_details, ADDRESS_FIELDS) == [], label
        assert _missing(tx.customer_details, ("id", "first_name", "last_name", "email",
                                              "company", "phone", "website")) == [], label
        assert _missing(tx.descriptor, ("name", "phone", "url")) == [], label


def test_fields_without_a_simulated_value_are_nil_or_empty(gateway):
    # given
    tx = gateway.transaction.find(sale(gateway).transaction.id)

    # then
    assert tx.network_transaction_id is None
    assert tx.avs_postal_code_response_code is None
    assert tx.three_d_secure_info is None
    assert tx.risk_data is None
    assert tx.customer_details.id is None
    assert tx.billing_details.postal_code is None
    assert tx.retry_ids == [] and tx.authorization_adjustments == [] and tx.disputes == []
    assert tx.retried is False and tx.partially_authorized is False
    assert tx.global_id == tx.graphql_id and tx.global_id


def test_sdk_helpers_that_follow_vault_links_answer_none_for_a_nonce_sale(gateway):
    # given
    tx = gateway.transaction.find(sale(gateway).transaction.id)

    # then
    assert tx.vault_customer is None
    assert tx.vault_credit_card is None
    assert tx.is_disbursed is False
    assert tx.line_items == []


def test_sale_find_lists_its_refunds(gateway):
    # given
    tx = settled_sale(gateway)
    first = gateway.transaction.refund(tx.id, "30.00").transaction
    second = gateway.transaction.refund(tx.id, "20.00").transaction

    # when
    found = gateway.transaction.find(tx.id)

    # then
    assert found.refund_ids == [first.id, second.id]
    assert gateway.transaction.find(first.id).refunded_transaction_id == tx.id


def test_transaction_answer_lists_the_id_first_like_the_real_gateway(sim, control):
    # given
    nonce_sale = (b"<transaction><amount>10.00</amount><payment_method_nonce>fake-valid-nonce"
                  b"</payment_method_nonce><type>sale</type></transaction>")

    # when
    response = control.session.post(sim.url + "/merchants/sim_merchant/transactions",
                                     data=nonce_sale, headers={"Authorization": sim.expected_auth},
                                     timeout=5)

    # then
    assert response.status_code == 201
    assert response.content.startswith(b"<transaction><id>")
