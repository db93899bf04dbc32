"""POST /api/orders/ with bad input: always a clear 4xx naming what is wrong, and nothing stored.

Rules chosen for this API (see payments/orders/serializers.py):
- `amount` must be a JSON string; every JSON number is refused, exact or not.
- Unknown fields are refused with a 400 naming each of them.
"""

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.test import override_settings

from payments.http.errors import api_exception_handler
from payments.models import Order

pytestmark = pytest.mark.django_db

NONCE = "fake-valid-nonce"


def _valid(**changes):
    body = {"amount": "12.34", "payment_method_nonce": NONCE, "currency": "USD", "description": "ok"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not _MISSING}


_MISSING = object()


@pytest.fixture
def post_json(api_client, django_capture_on_commit_callbacks):
    """POST a JSON body; asserts no charge was dispatched, whatever the answer."""

    def post(body, **headers):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            # json.dumps escapes non-ASCII, so even a lone surrogate travels as valid JSON.
            response = api_client.post(
                "/api/orders/", json.dumps(body), content_type="application/json", headers=headers
            )
        assert callbacks == []
        return response

    return post


@pytest.mark.parametrize(
    ("field", "body"),
    [
        pytest.param("amount", _valid(amount=_MISSING), id="amount missing"),
        pytest.param("amount", _valid(amount=""), id="amount empty"),
        pytest.param("amount", _valid(amount="   "), id="amount blank"),
        pytest.param("amount", _valid(amount=None), id="amount null"),
        pytest.param("amount", _valid(amount="-5.00"), id="amount negative"),
        pytest.param("amount", _valid(amount="0"), id="amount zero"),
        pytest.param("amount", _valid(amount="0.00"), id="amount zero with decimals"),
        pytest.param("amount", _valid(amount="-0"), id="amount negative zero"),
        pytest.param("amount", _valid(amount="twelve"), id="amount non-numeric"),
        pytest.param("amount", _valid(amount="12,34"), id="amount with a decimal comma"),
        pytest.param("amount", _valid(amount="NaN"), id="amount NaN"),
        pytest.param("amount", _valid(amount="Infinity"), id="amount Infinity"),
        pytest.param("amount", _valid(amount="-Infinity"), id="amount minus Infinity"),
        pytest.param("amount", _valid(amount="1e3"), id="amount in exponent notation"),
        pytest.param("amount", _valid(amount="+12.34"), id="amount with a plus sign"),
        pytest.param("amount", _valid(amount="12.345"), id="amount with three decimals"),
        pytest.param("amount", _valid(amount="0.001"), id="amount below one cent"),
        pytest.param("amount", _valid(amount="10000.01"), id="amount above the maximum"),
        pytest.param("amount", _valid(amount="99999999999999999999.00"), id="amount with too many digits"),
        pytest.param("amount", _valid(amount=12.34), id="amount as a JSON float"),
        pytest.param("amount", _valid(amount=0.1 + 0.2), id="amount as a JSON float with binary noise"),
        pytest.param("amount", _valid(amount=12), id="amount as a JSON integer"),
        pytest.param("amount", _valid(amount=True), id="amount as a boolean"),
        pytest.param("amount", _valid(amount=["12.34"]), id="amount as a list"),
        pytest.param("amount", _valid(amount="\u0661\u0662.\u0663\u0664"), id="amount in non-ASCII digits"),
        pytest.param("currency", _valid(currency="XYZ"), id="currency unknown"),
        pytest.param("currency", _valid(currency="usd"), id="currency lower-case"),
        pytest.param("currency", _valid(currency=""), id="currency empty"),
        pytest.param("currency", _valid(currency=840), id="currency as a number"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce=_MISSING), id="nonce missing"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce=""), id="nonce empty"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="  "), id="nonce blank"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce=None), id="nonce null"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce=12345), id="nonce as a number"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce={"n": 1}), id="nonce as an object"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="n" * 513), id="nonce over 512 characters"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="fake-valid-nonce\u0001"), id="nonce with a control character"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="fake-valid\nnonce"), id="nonce with a newline inside"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="fake valid nonce"), id="nonce with spaces"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="fake-valid-nonce<x/>"), id="nonce with markup"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="fake-vаlid-nonce"), id="nonce with a Cyrillic letter"),
        pytest.param("description", _valid(description="d" * 256), id="description too long"),
        pytest.param("payment_method_nonce", _valid(payment_method_nonce="a\x00b"), id="nonce with a NUL"),
        pytest.param("description", _valid(description=42), id="description as a number"),
        pytest.param("description", _valid(description="a\x00b"), id="description with a NUL"),
        pytest.param("description", _valid(description="\ud800"), id="description with a lone surrogate"),
        pytest.param("description", _valid(description="Invoice \u202egpj.exe"), id="description with RLO U+202E"),
        pytest.param("description", _valid(description="a\u2066b\u2069"), id="description with a bidi isolate"),
        pytest.param("description", _valid(description="line\nbreak"), id="description with a newline"),
        pytest.param("description", _valid(description="a\x1b[31mred"), id="description with an escape"),
        pytest.param("description", _valid(description="a\x7f"), id="description with DEL"),
        pytest.param("description", _valid(description="a\x85b"), id="description with a C1 control"),
        pytest.param("curency", _valid(curency="EUR"), id="unknown field"),
    ],
)
def test_bad_field_answers_400_naming_the_field_and_stores_nothing(post_json, field, body):
    # given a body with one bad field
    # when it is posted
    response = post_json(body)

    # then the answer names that field alone, and no order exists
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert all(isinstance(message, str) and message for message in errors[field])
    assert Order.objects.count() == 0


def test_every_bad_field_is_reported_in_one_answer(post_json):
    # given a body where several things are wrong, including an unknown field
    body = {"amount": "0", "currency": "XYZ", "colour": "red"}

    # when
    response = post_json(body)

    # then all of them are listed, so one round trip shows the client everything
    assert response.status_code == 400
    assert set(response.json()) == {"amount", "payment_method_nonce", "currency", "colour"}
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be greater than zero."),
        (12.34, 'Send the amount as a string, e.g. "12.34"; JSON numbers are not accepted.'),
        ("NaN", 'A valid amount is required: a plain decimal number such as "12.34".'),
        ("10000.01", "The amount must not exceed 10000.00."),
        ("1.234", "Ensure that there are no more than 2 decimal places."),
    ],
)
def test_amount_errors_say_what_a_valid_amount_looks_like(post_json, amount, message):
    # given / when
    response = post_json(_valid(amount=amount))

    # then
    assert response.json() == {"amount": [message]}


@override_settings(PAYMENTS_MAX_AMOUNT="50.00", BRAINTREE_MERCHANT_ACCOUNTS={"CHF": "acct_chf"})
def test_limits_follow_the_configured_maximum_and_currencies(post_json):
    # given a deployment that caps amounts at 50.00 and only takes CHF
    # when an order over the cap in a currency that is not configured is posted
    response = post_json(_valid(amount="50.01", currency="USD"))

    # then both limits are the configured ones
    assert response.status_code == 400
    assert response.json() == {
        "amount": ["The amount must not exceed 50.00."],
        "currency": [
            '"USD" is not a supported currency; use one of CHF (upper-case ISO 4217 codes with a merchant account).'
        ],
    }
    assert Order.objects.count() == 0


@override_settings(BRAINTREE_MERCHANT_ACCOUNTS={"CHF": "acct_chf"})
def test_currency_is_required_when_the_usd_default_is_not_configured(post_json):
    # given a deployment without USD
    # when an order omits its currency
    response = post_json(_valid(currency=_MISSING))

    # then it is not silently stored in USD
    assert response.status_code == 400
    assert response.json() == {"currency": ["This field is required."]}
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param([_valid()], "non_field_errors", id="JSON array"),
        pytest.param("12.34", "non_field_errors", id="JSON string"),
        pytest.param(None, "non_field_errors", id="JSON null"),
    ],
)
def test_body_that_is_not_a_json_object_answers_400(api_client, body, key):
    # given / when
    response = api_client.post("/api/orders/", json.dumps(body), content_type="application/json")

    # then
    assert response.status_code == 400
    assert list(response.json()) == [key]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"amount": "12.34", ', id="truncated JSON"),
        pytest.param("amount=12.34&payment_method_nonce=x", id="form data labelled as JSON"),
        pytest.param('{"amount": NaN, "payment_method_nonce": "x"}', id="bare NaN literal"),
        pytest.param('{"amount": Infinity, "payment_method_nonce": "x"}', id="bare Infinity literal"),
        pytest.param(b"\xff\xfe\x00garbage", id="bytes that are not UTF-8"),
        pytest.param("[" * 5000, id="nesting deeper than the decoder allows"),
    ],
)
def test_body_that_is_not_json_answers_400_with_a_detail(api_client, raw):
    # given / when
    response = api_client.post("/api/orders/", raw, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        pytest.param('{"amount": "1.00", "payment_method_nonce": "fake-valid-nonce", "amount": "5000.00"}', "amount",
                     id="top-level amount twice"),
        pytest.param('{"amount": "1.00", "payment_method_nonce": "a", "payment_method_nonce": "a"}',
                     "payment_method_nonce", id="the same value twice"),
        pytest.param('{"amount": "1.00", "payment_method_nonce": "x", "meta": {"k": 1, "k": 2}}', "k",
                     id="a nested key twice"),
    ],
)
def test_a_key_sent_twice_answers_400_naming_it_and_stores_nothing(api_client, raw, key):
    # given / when
    response = api_client.post("/api/orders/", raw, content_type="application/json")
    # then: never "the last one wins"
    assert response.status_code == 400
    assert response.json() == {key: ["This field appears more than once in the JSON body; send it once."]}
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "description",
    ["Café crème", "طلب رقم ٧", "Family 👨‍👩‍👧 order", "Tab-free text with punctuation: #1001 (gift)"],
)
def test_descriptions_in_any_script_with_emoji_joiners_are_accepted(
    api_client, django_capture_on_commit_callbacks, description
):
    # when
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/api/orders/", _valid(description=description), format="json")
    # then
    assert response.status_code == 202, response.json()
    assert Order.objects.get().description == description


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "application/xml", "multipart/form-data; boundary=x"],
)
def test_body_in_another_content_type_answers_415(api_client, content_type):
    # given / when
    response = api_client.post("/api/orders/", "amount=12.34", content_type=content_type)

    # then
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]
    assert Order.objects.count() == 0


def test_body_over_the_size_limit_answers_413_as_json(api_client, settings):
    # given a body one byte over the configured limit, otherwise valid
    padding = "d" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = json.dumps(_valid(description=padding))

    # when
    response = api_client.post("/api/orders/", raw, content_type="application/json")

    # then
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    }
    assert Order.objects.count() == 0


def test_body_exactly_at_the_size_limit_is_parsed(api_client, settings):
    # given a body of exactly the limit (it fails validation, but only because of its content)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = _valid(description="")
    filler = 1024 - len(json.dumps(body))
    raw = json.dumps(_valid(description="d" * filler))
    assert len(raw.encode()) == 1024

    # when
    response = api_client.post("/api/orders/", raw, content_type="application/json")

    # then it was read and judged on its fields, not refused for its size
    assert response.status_code == 400
    assert list(response.json()) == ["description"]


def test_django_refusing_a_large_body_maps_to_413_not_500(settings):
    # given Django's own refusal, raised by request.body or request.POST inside a DRF view
    # when the API's exception handler sees it
    response = api_exception_handler(RequestDataTooBig("too big"), context={})

    # then
    assert response.status_code == 413
    assert response.data == {
        "detail": f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    }


def test_unauthenticated_request_answers_401_with_the_scheme_and_stores_nothing(anonymous_client):
    # given / when
    response = anonymous_client.post("/api/orders/", _valid(), format="json")

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "authorization",
    ["Token not-a-real-token", "Token", "Token a b", "Bearer abc", "Basic dXNlcjpwdw=="],
)
def test_invalid_credentials_answer_401_and_store_nothing(anonymous_client, authorization):
    # given / when
    response = anonymous_client.post(
        "/api/orders/", _valid(), format="json", headers={"Authorization": authorization}
    )

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()
    assert Order.objects.count() == 0


def test_oversized_body_from_an_anonymous_client_answers_401_before_any_parsing(anonymous_client, settings):
    # given / when: authentication comes first, so strangers cannot make the server read bodies
    raw = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = anonymous_client.post("/api/orders/", raw, content_type="application/json")

    # then
    assert response.status_code == 401


def test_idempotency_key_over_255_characters_answers_400_naming_the_header(post_json):
    # given / when
    response = post_json(_valid(), **{"Idempotency-Key": "k" * 256})

    # then
    assert response.status_code == 400
    assert response.json() == {
        "Idempotency-Key": ["The Idempotency-Key header must be at most 255 characters long (got 256)."]
    }
    assert Order.objects.count() == 0


@pytest.mark.parametrize("key", ["   ", "caf\u00e9", "tab\there"])
def test_blank_or_non_ascii_idempotency_key_answers_400_naming_the_header(post_json, key):
    # given / when
    response = post_json(_valid(), **{"Idempotency-Key": key})

    # then
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert Order.objects.count() == 0


def test_idempotency_key_of_exactly_255_characters_is_accepted(api_client, django_capture_on_commit_callbacks):
    # given / when
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post(
            "/api/orders/", _valid(), format="json", headers={"Idempotency-Key": "k" * 255}
        )

    # then
    assert response.status_code == 202
    assert Order.objects.get().idempotency_key == "k" * 255


def test_a_nonce_with_a_control_character_is_refused_with_a_field_message(post_json):
    # given the nonce that once cost six retries and a parked order (the SDK sent ill-formed XML)
    body = _valid(payment_method_nonce="fake-valid-nonce\u0001")
    # when
    response = post_json(body)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "payment_method_nonce": ['A payment method nonce may contain only letters, digits, "-" and "_".']
    }
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "nonce",
    [
        pytest.param("fake-gateway-rejected-risk-thresholds-nonce", id="longest sandbox nonce"),
        pytest.param("tokencc_sim_0123456789abcdef", id="simulator minted nonce"),
        pytest.param("3f9b2c1e-7a4d-4e8f-9b6a-1c2d3e4f5a6b", id="uuid nonce"),
        pytest.param("tokencc_bc_abc123_def456_ghi789_jkl012_mno", id="tokenized card nonce"),
        pytest.param("n" * 512, id="512 characters"),
    ],
)
def test_nonces_of_every_braintree_shape_are_accepted(api_client, django_capture_on_commit_callbacks, nonce):
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/api/orders/", _valid(payment_method_nonce=nonce), format="json")
    assert response.status_code == 202
    assert Order.objects.get().payment_method_nonce == nonce


@override_settings(BRAINTREE_MERCHANT_ACCOUNTS={"USD": "acct_usd", "GBP": "acct_gbp"})
def test_a_currency_without_a_merchant_account_is_refused_with_a_field_message(post_json):
    # given a deployment with USD and GBP accounts only
    # when an order in EUR is posted
    response = post_json(_valid(currency="EUR"))

    # then it is refused, naming the accepted currencies, and nothing is stored
    assert response.status_code == 400
    assert response.json() == {
        "currency": [
            '"EUR" is not a supported currency; use one of USD, GBP '
            "(upper-case ISO 4217 codes with a merchant account)."
        ]
    }
    assert Order.objects.count() == 0

