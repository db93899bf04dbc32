"""The gateway adapter's mapping of SDK results and exceptions (SDK stubbed: no network)."""

from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

import braintree
import pytest
from braintree.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    GatewayTimeoutError,
    NotFoundError,
    RequestTimeoutError,
    ServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnexpectedError,
    UpgradeRequiredError,
)
from braintree.exceptions.http.connection_error import ConnectionError as SdkConnectionError
from braintree.exceptions.http.timeout_error import ConnectTimeoutError, ReadTimeoutError

from payments import gateways
from payments.core.exceptions import GatewayMisconfigured, GatewayUnavailable
from payments.gateways import SaleOutcome, TransactionInfo
from payments.gateways import braintree as adapter
from payments.gateways.braintree import BraintreeGateway


def sdk_transaction(**overrides):
    fields = {
        "id": "k7x2m9qp",
        "status": "submitted_for_settlement",
        "amount": Decimal("12.34"),
        "order_id": "order-1",
        "processor_response_code": "1000",
        "processor_response_text": "Approved",
        "gateway_rejection_reason": None,
    }
    return SimpleNamespace(**{**fields, **overrides})


def error_result(*, transaction=None, codes=(), message="Declined"):
    errors = SimpleNamespace(deep_errors=[SimpleNamespace(code=code) for code in codes])
    return SimpleNamespace(is_success=False, transaction=transaction, errors=errors, message=message)


@pytest.fixture
def sdk():
    """A stand-in for the SDK's BraintreeGateway that the adapter would build."""
    return mock.Mock()


@pytest.fixture
def gateway(sdk):
    return BraintreeGateway(sdk=sdk)


def call_sale(gateway):
    return gateway.sale(
        order_id="order-1", amount=Decimal("12.34"), nonce="fake-valid-nonce", api_request_key="order-1:0"
    )


def test_sale_sends_amount_as_a_two_decimal_string_with_order_id_and_request_key(sdk, gateway):
    # given
    sdk.transaction.sale.return_value = SimpleNamespace(is_success=True, transaction=sdk_transaction())
    # when
    gateway.sale(order_id="order-1", amount=Decimal("12.3"), nonce="n", api_request_key="order-1:2")
    # then
    [params] = sdk.transaction.sale.call_args.args
    assert params == {
        "amount": "12.30",
        "payment_method_nonce": "n",
        "order_id": "order-1",
        "api_request_key": "order-1:2",
        "options": {"submit_for_settlement": True},
    }


def test_approved_sale_returns_the_projects_transaction_info(sdk, gateway):
    # given
    sdk.transaction.sale.return_value = SimpleNamespace(is_success=True, transaction=sdk_transaction())
    # when
    result = call_sale(gateway)
    # then
    assert result.outcome == SaleOutcome.APPROVED
    assert result.transaction == TransactionInfo(
        id="k7x2m9qp",
        status="submitted_for_settlement",
        amount=Decimal("12.34"),
        order_id="order-1",
        processor_response_code="1000",
        processor_response_text="Approved",
    )
    assert result.transaction.is_paid


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("processor_declined", SaleOutcome.DECLINED),
        ("gateway_rejected", SaleOutcome.REJECTED),
        ("failed", SaleOutcome.PROCESSOR_FAILED),
    ],
)
def test_unsuccessful_sale_with_a_transaction_is_a_result_not_an_exception(sdk, gateway, status, outcome):
    # given
    txn = sdk_transaction(status=status, processor_response_code="2000", processor_response_text="Do Not Honor")
    sdk.transaction.sale.return_value = error_result(transaction=txn)
    # when
    result = call_sale(gateway)
    # then
    assert result.outcome == outcome
    assert result.transaction.status == status
    assert result.message == "Declined"


def test_validation_error_returns_braintree_codes_as_strings(sdk, gateway):
    # given
    sdk.transaction.sale.return_value = error_result(codes=["91564"], message="Cannot use a nonce more than once.")
    # when
    result = call_sale(gateway)
    # then
    assert (result.outcome, result.transaction, result.error_codes) == (SaleOutcome.INVALID, None, ["91564"])


@pytest.mark.parametrize("code", ["915233", "915235"])
def test_sale_whose_request_key_is_still_undecided_is_unavailable_not_failed(sdk, gateway, code):
    # given Braintree is still processing (or failed to process) the first sale with this key
    sdk.transaction.sale.return_value = error_result(codes=[code], message="In flight")
    # when / then: the outcome is unknown, so it must be retried, never recorded as a decline
    with pytest.raises(GatewayUnavailable, match=code):
        call_sale(gateway)


@pytest.mark.parametrize(
    "sdk_error",
    [
        ReadTimeoutError("read timed out"),
        ConnectTimeoutError("connect timed out"),
        SdkConnectionError("connection reset"),
        TooManyRequestsError(),
        ServerError(),
        ServiceUnavailableError(),
        GatewayTimeoutError(),
        RequestTimeoutError(),
        UnexpectedError("Unexpected HTTP_RESPONSE 502"),
    ],
    ids=type,
)
def test_transient_sdk_errors_become_gateway_unavailable(sdk, gateway, sdk_error):
    # given
    sdk.transaction.sale.side_effect = sdk_error
    # when / then
    with pytest.raises(GatewayUnavailable) as raised:
        call_sale(gateway)
    assert raised.value.__cause__ is sdk_error


@pytest.mark.parametrize(
    "sdk_error",
    [
        AuthenticationError(),
        AuthorizationError("forbidden"),
        UpgradeRequiredError(),
        ConfigurationError("no key"),
        UnexpectedError("Unexpected HTTP_RESPONSE 400"),
        UnexpectedError("Unexpected HTTP_RESPONSE 413"),
        UnexpectedError("Unexpected HTTP_RESPONSE 422"),
    ],
    ids=lambda error: f"{type(error).__name__}({error})",
)
def test_permanent_sdk_errors_become_gateway_misconfigured(sdk, gateway, sdk_error):
    # given
    sdk.transaction.sale.side_effect = sdk_error
    # when / then
    with pytest.raises(GatewayMisconfigured) as raised:
        call_sale(gateway)
    assert raised.value.__cause__ is sdk_error


def test_find_of_an_unknown_transaction_returns_none(sdk, gateway):
    # given
    sdk.transaction.find.side_effect = NotFoundError("transaction with id 'nope' not found")
    # when / then
    assert gateway.find("nope") is None


def test_search_by_order_id_lists_every_transaction(sdk, gateway):
    # given
    declined = sdk_transaction(id="aaa111", status="processor_declined")
    sdk.transaction.search.return_value = SimpleNamespace(items=iter([declined, sdk_transaction()]))
    # when
    found = gateway.search_by_order_id("order-1")
    # then
    assert [(t.id, t.is_paid) for t in found] == [("aaa111", False), ("k7x2m9qp", True)]


def test_simulator_environment_passes_the_port_as_a_string(settings):
    # given
    settings.BRAINTREE_ENVIRONMENT = "simulator"
    settings.BRAINTREE_SIMULATOR_URL = "http://127.0.0.1:8600"
    # when
    environment = adapter._environment()
    # then
    assert environment.base_url == "http://127.0.0.1:8600"
    assert environment.server_and_port == "127.0.0.1:8600"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("sandbox", braintree.Environment.Sandbox), ("production", braintree.Environment.Production)],
)
def test_real_environments_use_braintrees_hosts(settings, name, expected):
    # given
    settings.BRAINTREE_ENVIRONMENT = name
    # when / then
    assert adapter._environment() is expected


def test_gateway_is_built_once_per_process(settings):
    # given
    settings.BRAINTREE_ENVIRONMENT = "simulator"
    settings.PAYMENTS_GATEWAY = "braintree"
    gateways.reset_gateway()
    # when
    first, second = gateways.get_gateway(), gateways.get_gateway()
    # then
    assert first is second
    assert isinstance(first, BraintreeGateway)
    assert first.sdk.config.timeout == settings.BRAINTREE_TIMEOUT_SECONDS
    assert first.sdk.config.wrap_http_exceptions is True
    gateways.reset_gateway()


def test_the_fake_backend_is_chosen_by_setting_and_starts_with_an_empty_ledger(settings):
    # given
    settings.PAYMENTS_GATEWAY = "fake"
    gateways.get_gateway().sale(order_id="o-1", amount=Decimal("1.00"), nonce="fake-valid-nonce", api_request_key="k")
    # when
    gateways.reset_gateway()
    fresh = gateways.get_gateway()
    # then
    assert type(fresh).__name__ == "FakeGateway"
    assert fresh.transactions() == []
    gateways.reset_gateway()


@pytest.mark.parametrize("operation", ["find", "search"])
def test_a_4xx_answer_to_find_or_search_is_permanent_too(sdk, gateway, operation):
    # given
    error = UnexpectedError("Unexpected HTTP_RESPONSE 400")
    sdk.transaction.find.side_effect = error
    sdk.transaction.search.side_effect = error
    # when / then
    with pytest.raises(GatewayMisconfigured, match="HTTP 400"):
        gateway.find("t1") if operation == "find" else gateway.search_by_order_id("o1")


def test_an_unexpected_error_that_names_no_status_stays_transient(sdk, gateway):
    # given: e.g. the SDK's own "unexpected" errors without an HTTP answer
    sdk.transaction.sale.side_effect = UnexpectedError("Unexpected HTTP_RESPONSE 4000 something")
    # when / then
    with pytest.raises(GatewayUnavailable):
        call_sale(gateway)


def test_a_webhook_parsed_by_the_sdk_comes_back_as_an_aware_event_with_its_dispute():
    # given: a notification signed as the SDK's WebhookTesting signs them
    import braintree as sdk

    from payments.gateways.braintree import BraintreeGateway

    gateway = sdk.BraintreeGateway(sdk.Configuration(
        environment=sdk.Environment.Sandbox, merchant_id="m", public_key="pub", private_key="priv"))
    sample = gateway.webhook_testing.sample_notification(sdk.WebhookNotification.Kind.DisputeOpened, "dp_1")
    # when
    event = BraintreeGateway(sdk=gateway).parse_webhook(signature=sample["bt_signature"], payload=sample["bt_payload"])
    # then
    assert (event.kind, event.subject_id) == ("dispute_opened", "dp_1")
    assert event.timestamp.tzinfo is not None
    assert event.transaction_id


def test_a_forged_webhook_raises_webhook_signature_invalid():
    import braintree as sdk

    from payments.core.exceptions import WebhookSignatureInvalid
    from payments.gateways.braintree import BraintreeGateway

    gateway = sdk.BraintreeGateway(sdk.Configuration(
        environment=sdk.Environment.Sandbox, merchant_id="m", public_key="pub", private_key="priv"))
    sample = gateway.webhook_testing.sample_notification(sdk.WebhookNotification.Kind.DisputeWon, "dp_1")
    with pytest.raises(WebhookSignatureInvalid):
        BraintreeGateway(sdk=gateway).parse_webhook(signature="pub|0000", payload=sample["bt_payload"])
