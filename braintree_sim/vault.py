"""Braintree's vault: customers and the payment methods stored on them, behind reusable tokens.

What the SDK's ``customer_gateway.py`` and ``payment_method_gateway.py`` send, and the answers
they parse: ``POST /customers`` (optionally with a payment method in the same call), ``GET`` and
``DELETE /customers/{id}``, ``POST /payment_methods`` from a nonce (a caller-chosen ``token``,
``make_default``, ``verify_card``), ``GET`` and ``DELETE /payment_methods/any/{token}``. A stored
token is reusable: every sale on it (``gateway.sale`` asks :meth:`Vault.card_for_sale`) is a new
charge, with no "nonce already used" (91564) to refuse a second one.

Card verification follows the sandbox: the ``fake-processor-declined-*`` nonces and the
"fails sandbox verification" card numbers are declined by the processor (the verification's
status ``processor_declined`` and its response code), and nothing is stored. The SDK sends no
``api_request_key`` on these calls; a caller that retries after a lost answer chooses the
customer id and token itself and finds them (91609/91719 on a second create).
"""

import time

from braintree_sim import responses, sandbox, xmlcodec
from braintree_sim.responses import NOT_FOUND, Reply
from braintree_sim.sandbox import ValidationError
from braintree_sim.xmlcodec import Array, DateTime

# Braintree's validation errors of the vault calls (braintree/error_codes.py).
MESSAGES = {
    "91609": "Customer ID has already been taken.",
    "91610": "Customer ID is invalid.",
    "91612": "Customer ID is too long.",
    "91704": "Customer ID is required.",
    "91705": "Customer ID is invalid.",
    "91718": "Token is invalid.",
    "91719": "Payment method token is already taken.",
    "91720": "Token is too long.",
    "93103": "A payment method must be provided.",
    "93104": "Customer ID is required.",
    "93105": "Customer ID is invalid.",
    "93107": "Cannot use a payment_method_nonce more than once.",
    "93108": "Unknown or expired payment_method_nonce.",
    "91510": "Customer ID is invalid.",
    "91511": "Customer does not have any credit cards.",
    "91518": "Payment method token is invalid.",
    "91516": "Cannot provide both payment_method_token and customer_id unless the payment_method belongs to the customer.",
}

# Verification declines of the sandbox: the static nonces and the test card numbers that
# "fail sandbox verification" (developer.paypal.com/braintree/docs/reference/general/testing).
DECLINED_VERIFICATION_NONCES = {
    "fake-processor-declined-visa-nonce": "2000",
    "fake-processor-declined-mastercard-nonce": "2000",
    "fake-processor-declined-amex-nonce": "2000",
    "fake-processor-declined-discover-nonce": "2000",
}
DECLINED_VERIFICATION_NUMBERS = {"4000111111111115", "5105105105105100", "378734493671000", "6011000990139424"}
MAX_ID = 36
_ID_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _error(code, attribute, path):
    return ValidationError(code, attribute, MESSAGES.get(code) or sandbox.MESSAGES[code], path)


def _valid_id(value):
    return isinstance(value, str) and 0 < len(value) <= MAX_ID and set(value) <= _ID_CHARACTERS


class Vault:
    """Customers and stored cards of one simulated gateway (ids, clock and nonces are the gateway's)."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.store = gateway.store

    # -- customers

    def create_customer(self, params):
        """``POST /customers``: a customer, with the payment method of ``payment_method_nonce``
        or ``credit_card`` stored on it (verified when ``credit_card.options.verify_card``)."""
        card_params = params.get("credit_card") if isinstance(params.get("credit_card"), dict) else {}
        with self.store.lock:
            customer_id = params.get("id")
            if customer_id is not None and customer_id != "":
                if not _valid_id(customer_id):
                    return responses.error_reply([_error("91610", "id", ("customer",))], resource="customer")
                if self.store.customer(customer_id) is not None:
                    return responses.error_reply([_error("91609", "id", ("customer",))], resource="customer")
            else:
                customer_id = self._new_customer_id()
            nonce = params.get("payment_method_nonce") or card_params.get("payment_method_nonce")
            card = None
            if nonce or card_params.get("number"):
                options = card_params.get("options") or {}
                card, failure = self._card_to_store(
                    nonce, card_params, options, token=card_params.get("token"),
                    path=("customer", "credit_card"), resource="customer",
                )
                if failure is not None:
                    return failure
            stamp = responses_now(self.gateway)
            customer = {
                "id": customer_id,
                **{name: params.get(name) or None for name in
                   ("first_name", "last_name", "company", "email", "phone", "fax", "website")},
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.store.save_customer(customer)
            if card is not None:
                self._save_method(customer_id, card, card_params.get("token"), make_default=True)
        return Reply(201, xmlcodec.render("customer", self._customer_doc(customer)))

    def find_customer(self, customer_id):
        """``GET /customers/{id}``: the customer and its stored cards."""
        customer = self.store.customer(customer_id)
        if customer is None:
            return NOT_FOUND
        return Reply(200, xmlcodec.render("customer", self._customer_doc(customer)))

    def delete_customer(self, customer_id):
        """``DELETE /customers/{id}``: the customer and every payment method stored on it."""
        with self.store.lock:
            if self.store.customer(customer_id) is None:
                return NOT_FOUND
            for method in self.store.payment_methods(customer_id):
                self.store.delete_payment_method(method["token"])
            self.store.delete_customer(customer_id)
        return Reply(200)

    # -- payment methods

    def create_payment_method(self, params):
        """``POST /payment_methods``: store a nonce's card on a customer, under ``token``."""
        path = ("payment_method",)
        customer_id = params.get("customer_id")
        nonce = params.get("payment_method_nonce")
        with self.store.lock:
            if not customer_id:
                return responses.error_reply([_error("93104", "customer_id", path)], params, "payment_method")
            if self.store.customer(customer_id) is None:
                return responses.error_reply([_error("93105", "customer_id", path)], params, "payment_method")
            if not nonce and not params.get("number"):
                return responses.error_reply([_error("93103", "payment_method_nonce", path)], params,
                                             "payment_method")
            # A nonce (PaymentMethod.create), or raw test card fields (CreditCard.create).
            card, failure = self._card_to_store(
                nonce, params, params.get("options") or {}, token=params.get("token"),
                path=path, resource="payment_method", nonce_codes=("93108", "93107"),
            )
            if failure is not None:
                return failure
            make_default = (params.get("options") or {}).get("make_default") is True
            method = self._save_method(customer_id, card, params.get("token"), make_default=make_default)
        return Reply(201, xmlcodec.render("credit_card", self._method_doc(method)))

    def find_payment_method(self, token):
        """``GET /payment_methods/any/{token}``."""
        method = self.store.payment_method(token)
        if method is None:
            return NOT_FOUND
        return Reply(200, xmlcodec.render("credit_card", self._method_doc(method)))

    def delete_payment_method(self, token):
        """``DELETE /payment_methods/any/{token}``: the token can never be charged again."""
        with self.store.lock:
            method = self.store.payment_method(token)
            if method is None:
                return NOT_FOUND
            self.store.delete_payment_method(token)
            if method["default"]:
                rest = self.store.payment_methods(method["customer_id"])
                if rest:
                    rest[0]["default"] = True
                    self.store.save_payment_method(rest[0])
        return Reply(200)

    # -- sales (called by Gateway.sale with the store lock held)

    def card_for_sale(self, params):
        """``(card, errors)`` of a sale on ``payment_method_token`` or ``customer_id``, else None."""
        token = params.get("payment_method_token")
        customer_id = params.get("customer_id")
        if token:
            method = self.store.payment_method(token)
            if method is None:
                return None, [_error("91518", "payment_method_token", ())]
            if customer_id and method["customer_id"] != customer_id:
                return None, [_error("91516", "payment_method_token", ())]
            return self._sale_card(method), []
        if customer_id and not params.get("payment_method_nonce") and not params.get("credit_card"):
            if self.store.customer(customer_id) is None:
                return None, [_error("91510", "customer_id", ())]
            methods = self.store.payment_methods(customer_id)
            default = next((m for m in methods if m["default"]), None)
            if default is None:
                return None, [_error("91511", "customer_id", ())]
            return self._sale_card(default), []
        return None

    def store_after_sale(self, tx, params, card):
        """``options.store_in_vault_on_success``: keep the sale's card on a (new) customer."""
        options = params.get("options") or {}
        if options.get("store_in_vault_on_success") is not True and options.get("store_in_vault") is not True:
            return
        if card.get("token"):
            return  # already vaulted
        customer_params = params.get("customer") if isinstance(params.get("customer"), dict) else {}
        customer_id = params.get("customer_id") or customer_params.get("id")
        if not customer_id or self.store.customer(customer_id) is None:
            if not customer_id or not _valid_id(customer_id):
                customer_id = self._new_customer_id()
            stamp = responses_now(self.gateway)
            self.store.save_customer({
                "id": customer_id,
                **{name: customer_params.get(name) or None for name in
                   ("first_name", "last_name", "company", "email", "phone", "fax", "website")},
                "created_at": stamp, "updated_at": stamp,
            })
        card_params = params.get("credit_card") if isinstance(params.get("credit_card"), dict) else {}
        token = card_params.get("token") if _valid_id(card_params.get("token")) else None
        if token and self.store.payment_method(token) is not None:
            token = None
        method = self._save_method(customer_id, dict(card), token, make_default=True)
        tx["card"] = self._sale_card(method)
        tx["customer_id"] = customer_id

    # -- internals

    def _new_customer_id(self):
        while True:
            candidate = "".join(self.gateway._rng.choice("0123456789") for _ in range(9))
            if self.store.customer(candidate) is None:
                return candidate

    def _new_token(self):
        while True:
            candidate = "".join(self.gateway._rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                for _ in range(6))
            if self.store.payment_method(candidate) is None:
                return candidate

    def _card_to_store(self, nonce, card_params, options, *, token, path, resource,
                       nonce_codes=("91732", "91731")):
        """Resolve and verify the card to store: ``(card, None)`` or ``(None, error reply)``."""
        if token is not None and token != "":
            if not _valid_id(token):
                return None, responses.error_reply([_error("91718", "token", path)], resource=resource)
            if self.store.payment_method(token) is not None:
                return None, responses.error_reply([_error("91719", "token", path)], resource=resource)
        declined_code = None
        if nonce:
            card, _rejection, errors, minted = self.gateway._resolve_nonce(nonce)
            if errors:
                code = {"91565": nonce_codes[0], "91564": nonce_codes[1]}.get(errors[0].code)
                if code is not None:
                    errors = [_error(code, "payment_method_nonce", path)]
                return None, responses.error_reply(errors, resource=resource)
            declined_code = DECLINED_VERIFICATION_NONCES.get(nonce)
            if minted is not None:
                minted["consumed"] = True
                self.store.save_nonce(nonce, minted)
        else:
            card, errors = sandbox.card_from_params(card_params)
            if errors:
                return None, responses.error_reply(
                    [ValidationError(e.code, e.attribute, e.message, path) for e in errors], resource=resource)
            if card_params.get("number", "").replace(" ", "") in DECLINED_VERIFICATION_NUMBERS:
                declined_code = "2000"
        if options.get("verify_card") is True and declined_code is not None:
            return None, self._verification_failure(card, declined_code, resource)
        return card, None

    def _verification_failure(self, card, code, resource):
        text = dict(sandbox._DECLINE_TEXTS).get(code, ("Processor Declined",))[0]
        stamp = responses_now(self.gateway)
        verification = {
            "id": self.gateway._new_id(),
            "status": "processor_declined",
            "processor_response_code": code,
            "processor_response_text": text,
            "processor_response_type": "soft_declined",
            "amount": "0.00",
            "currency_iso_code": "USD",
            "merchant_account_id": self.gateway.default_merchant_account_id,
            "gateway_rejection_reason": None,
            "cvv_response_code": "M",
            "avs_error_response_code": None,
            "avs_postal_code_response_code": "I",
            "avs_street_address_response_code": "I",
            "created_at": DateTime(stamp),
            "updated_at": DateTime(stamp),
            "credit_card": self._card_fields(card),
            "billing": dict.fromkeys(("first_name", "last_name", "postal_code")),
            "status_history": Array("status_event"),
        }
        doc = {
            "errors": {"errors": Array("error")},
            "params": {resource: None},
            "message": text,
            "verification": verification,
        }
        return Reply(422, xmlcodec.render("api_error_response", doc))

    def _save_method(self, customer_id, card, token, *, make_default):
        existing = self.store.payment_methods(customer_id)
        default = make_default or not existing
        if default:
            for other in existing:
                if other["default"]:
                    other["default"] = False
                    self.store.save_payment_method(other)
        stamp = responses_now(self.gateway)
        method = {
            "token": token or self._new_token(),
            "customer_id": customer_id,
            "card": {key: value for key, value in card.items() if key != "token"},
            "default": default,
            "created_at": stamp,
            "updated_at": stamp,
            "unique_number_identifier": self.gateway._new_id(length=32),
        }
        self.store.save_payment_method(method)
        return method

    @staticmethod
    def _sale_card(method):
        return {**method["card"], "token": method["token"], "customer_id": method["customer_id"]}

    @staticmethod
    def _card_fields(card):
        return {
            "bin": card.get("bin"),
            "last_4": card.get("last_4"),
            "card_type": card.get("card_type"),
            "expiration_month": card.get("expiration_month"),
            "expiration_year": card.get("expiration_year"),
            "cardholder_name": card.get("cardholder_name"),
            "customer_location": "US",
            "debit": card.get("debit", "Unknown"),
            "prepaid": card.get("prepaid", "Unknown"),
            "commercial": card.get("commercial", "Unknown"),
            "payroll": card.get("payroll", "Unknown"),
            "healthcare": card.get("healthcare", "Unknown"),
            "durbin_regulated": card.get("durbin_regulated", "Unknown"),
            "country_of_issuance": "USA",
            "issuing_bank": "Simulated Bank",
            "product_id": "Unknown",
        }

    def _method_doc(self, method):
        card = method["card"]
        # The SDK derives masked_number and expiration_date itself (read-only properties).
        return {
            "token": method["token"],
            "customer_id": method["customer_id"],
            "default": method["default"],
            **self._card_fields(card),
            "expired": False,
            "venmo_sdk": False,
            "image_url": "https://assets.braintreegateway.com/payment_method_logo/visa.png",
            "unique_number_identifier": method["unique_number_identifier"],
            "created_at": DateTime(method["created_at"]),
            "updated_at": DateTime(method["updated_at"]),
            "global_id": responses.global_id("paymentmethod", method["token"]),
            "subscriptions": Array("subscription"),
            "verifications": Array("verification"),
        }

    def _customer_doc(self, customer):
        methods = self.store.payment_methods(customer["id"])
        return {
            "id": customer["id"],
            **{name: customer.get(name) for name in
               ("first_name", "last_name", "company", "email", "phone", "fax", "website")},
            "created_at": DateTime(customer["created_at"]),
            "updated_at": DateTime(customer["updated_at"]),
            "global_id": responses.global_id("customer", customer["id"]),
            "custom_fields": "",
            "credit_cards": Array("credit_card", [self._method_doc(m) for m in methods]),
            "addresses": Array("address"),
        }


def responses_now(gateway):
    """The gateway's clock in its second-precision ISO format (as gateway.now_iso)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(gateway.clock()))
