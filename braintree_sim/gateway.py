"""The simulated gateway: every transaction state change happens here.

Each public method takes parsed request params and returns a :class:`~responses.Reply`. Methods
that read and then write hold the store lock for the whole sequence, so two concurrent requests
can never both consume one nonce or both refund the last cent.
"""

import copy
import hashlib
import json
import random
import string
import time
from decimal import Decimal

from braintree_sim import responses, sandbox, search, xmlcodec
from braintree_sim.config import DEFAULT_MERCHANT_ACCOUNTS
from braintree_sim.responses import NOT_FOUND, Reply
from braintree_sim.search import UnsupportedCriterion
from braintree_sim.vault import Vault
from braintree_sim.sandbox import error

_ID_ALPHABET = string.ascii_lowercase + string.digits
VOIDABLE = {"authorized", "submitted_for_settlement"}
# Braintree lets a card authorization lapse after a number of days (7 for most card sales).
AUTHORIZATION_TTL = 7 * 24 * 60 * 60
REFUNDABLE = {"settled", "settling"}
SIMULATED_SETTLEMENT_FROM = {"submitted_for_settlement", "settling", "settlement_pending"}
# A chargeback is raised against money that moved, so only a captured sale can be disputed.
DISPUTABLE = {"settled", "settling", "settlement_confirmed"}
DISPUTE_OUTCOMES = {"win": "won", "lose": "lost", "accept": "accepted"}
DISPUTE_REASONS = {"cancelled_recurring_transaction", "credit_not_processed", "duplicate",
                   "fraud", "general", "invalid_account", "not_recognized",
                   "product_not_received", "product_unsatisfactory", "retrieval",
                   "transaction_amount_differs"}
DISPUTE_KINDS = {"chargeback", "pre_arbitration", "retrieval"}
_TESTING_ACTIONS = {
    "settlement_confirm": "settlement_confirmed",
    "settlement_decline": "settlement_declined",
    "settlement_pending": "settlement_pending",
}


def now_iso(clock=time.time):
    """Current UTC time in the gateway's second-precision ISO format."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))


def request_fingerprint(method, path, params):
    """Identify a request for idempotency, ignoring the key itself."""
    body = {key: value for key, value in params.items() if key != "api_request_key"}
    canonical = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _descriptor(params):
    """The dynamic descriptor a capture names (what the customer's statement shows)."""
    return {key: params.get(key) for key in ("name", "phone", "url")}


class NotAllowed(ValueError):
    """A testing request (dispute, forced settlement decline) that the current state refuses."""


class Gateway:
    """Transactions, nonces and idempotency on top of a :class:`~store.Store`."""

    def __init__(self, store, seed=None, nonce_ttl=3 * 60 * 60, clock=time.time,
                 merchant_accounts=None, authorization_ttl=AUTHORIZATION_TTL):
        self.store = store
        # Braintree charges in the currency of the merchant account; the first is the default.
        self.merchant_accounts = dict(merchant_accounts or DEFAULT_MERCHANT_ACCOUNTS)
        self.default_merchant_account_id = next(iter(self.merchant_accounts))
        self.nonce_ttl = nonce_ttl
        # How long an authorization (a sale not submitted for settlement) can still be captured.
        self.authorization_ttl = authorization_ttl
        self.clock = clock
        self._rng = random.Random(seed)
        self.vault = Vault(self)

    def _new_id(self, prefix="", length=8):
        while True:
            candidate = prefix + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length))
            if self.store.transaction(candidate) is None and self.store.nonce(candidate) is None:
                return candidate

    def _transition(self, tx, status, amount=None):
        stamp = now_iso(self.clock)
        tx["status"] = status
        tx["updated_at"] = stamp
        if amount is not None:
            tx["amount"] = amount
        tx["status_history"].append({"timestamp": stamp, "status": status, "amount": tx["amount"]})

    def _new_transaction(self, kind, amount, card, order_id, auth, merchant_account_id,
                         api_request_key=None, refunded_transaction_id=None, currency=None):
        stamp = now_iso(self.clock)
        declined = auth.status == "processor_declined"
        tx = {
            "id": self._new_id(),
            "type": kind,
            "status": auth.status,
            "amount": responses.money(amount),
            "currency_iso_code": currency or self.merchant_accounts[merchant_account_id],
            "merchant_account_id": merchant_account_id,
            "order_id": order_id,
            "created_at": stamp,
            "updated_at": stamp,
            "processor_response_code": auth.code or None,
            "processor_response_text": auth.text or None,
            "processor_response_type": auth.response_type or None,
            "additional_processor_response": f"{auth.code} : {auth.text}" if declined else None,
            "processor_authorization_code": (
                "".join(self._rng.choice(_ID_ALPHABET.upper()) for _ in range(6))
                if auth.status in ("authorized", "submitted_for_settlement") else None
            ),
            "processor_settlement_response_code": None,
            "processor_settlement_response_text": None,
            "gateway_rejection_reason": auth.gateway_rejection_reason,
            "settlement_batch_id": None,
            "refund_ids": [],
            "refunded_transaction_id": refunded_transaction_id,
            "api_request_key": api_request_key,
            "card": card,
            "status_history": [
                {"timestamp": stamp, "status": auth.status, "amount": responses.money(amount)}
            ],
        }
        return tx

    def _transaction_reply(self, tx, status=200):
        """The ``<transaction>`` answer, rendered once per saved change (find follows every sale)."""
        body = self.store.rendered(tx["id"])
        if body is None:
            # Under the lock, so no write can slip in between rendering and remembering.
            with self.store.lock:
                body = responses.transaction_reply(tx, disputes=self.disputes_of(tx)).body
                self.store.remember_rendered(tx["id"], body)
        return Reply(status, body, True)

    def idempotent(self, key, fingerprint, operation, pause):
        """Run ``operation`` at most once per ``api_request_key``.

        ``pause`` runs after the key is claimed, so injected latency widens the in-flight window
        that a concurrent duplicate observes (915233). Only answers that carry a transaction are
        replayed; validation errors release the key so the client can correct the request.
        """
        if not key:
            pause()
            return operation()
        if len(key) > sandbox.MAX_API_REQUEST_KEY:
            return responses.error_reply([error("915230", "api_request_key")])
        with self.store.lock:
            record = self.store.idempotency(key)
            if record is not None:
                if record["fingerprint"] != fingerprint:
                    return responses.error_reply([error("915232", "api_request_key")])
                if record["state"] == "in_flight":
                    return responses.error_reply([error("915233", "api_request_key")])
                return Reply(record["status"], record["body"].encode("utf-8"), True)
            self.store.save_idempotency(
                key, {"fingerprint": fingerprint, "state": "in_flight"}, durable=False
            )
        try:
            pause()
            reply = operation()
        except BaseException:
            self.store.forget_idempotency(key)
            raise
        if reply.has_transaction:
            self.store.save_idempotency(key, {
                "fingerprint": fingerprint, "state": "done",
                "status": reply.status, "body": reply.body.decode("utf-8"),
            })
        else:
            self.store.forget_idempotency(key)
        return reply

    def _resolve_nonce(self, nonce):
        """Return ``(card, rejection_reason, errors, minted_record)`` for a nonce."""
        rule = sandbox.STATIC_NONCES.get(nonce)
        if rule is not None:
            if rule.error_code:
                return None, None, [error(rule.error_code, rule.error_attribute, rule.error_path)], None
            return dict(rule.card), rule.rejection, [], None
        record = self.store.nonce(nonce)
        if record is None or record["expires_at"] < self.clock():
            return None, None, [error("91565", "payment_method_nonce")], None
        if record["consumed"]:
            return None, None, [error("91564", "payment_method_nonce")], None
        return dict(record["card"]), None, [], record

    def sale(self, params):
        """``POST /transactions``: authorize (and optionally submit) a sale."""
        errors = []
        if params.get("type", "sale") != "sale":
            errors.append(error("91523", "type"))
        amount, amount_error = sandbox.parse_amount(params.get("amount"))
        if amount_error:
            errors.append(amount_error)
        order_id = params.get("order_id") or None
        if order_id and len(order_id) > sandbox.MAX_ORDER_ID:
            errors.append(error("91501", "order_id"))
        merchant_account_id = params.get("merchant_account_id") or self.default_merchant_account_id
        if merchant_account_id not in self.merchant_accounts:
            errors.append(error("91513", "merchant_account_id"))
        nonce = params.get("payment_method_nonce")
        with self.store.lock:
            card, rejection, minted = None, None, None
            # A stored token (or a customer's default card) is reusable: every sale is a charge.
            vaulted = self.vault.card_for_sale(params)
            if vaulted is not None:
                card, vault_errors = vaulted
                errors.extend(vault_errors)
            elif nonce:
                card, rejection, nonce_errors, minted = self._resolve_nonce(nonce)
                errors.extend(nonce_errors)
            elif isinstance(params.get("credit_card"), dict):
                card, card_errors = sandbox.card_from_params(params["credit_card"])
                errors.extend(card_errors)
            else:
                errors.append(error("91508", "base"))
            if errors:
                return responses.error_reply(errors, params)
            auth = sandbox.gateway_rejected(rejection) if rejection else sandbox.authorize(amount)
            tx = self._new_transaction(
                "sale", amount, card, order_id, auth,
                merchant_account_id, api_request_key=params.get("api_request_key"),
            )
            options = params.get("options") or {}
            if auth.status == "authorized" and options.get("submit_for_settlement") is True:
                self._transition(tx, "submitted_for_settlement")
            elif auth.status == "authorized":
                tx["authorization_expires_at"] = now_iso(lambda: self.clock() + self.authorization_ttl)
            # A failed authorization never reached the processor, so the nonce stays usable and
            # a retry can succeed; declines and rejections spend it like the real gateway.
            if minted is not None and auth.status != "failed":
                minted["consumed"] = True
                minted["consumed_by"] = tx["id"]
                self.store.save_nonce(nonce, minted)
            if tx["status"] in ("authorized", "submitted_for_settlement"):
                self.vault.store_after_sale(tx, params, card)
            self.store.save_transaction(tx)
        if tx["status"] in ("authorized", "submitted_for_settlement"):
            return self._transaction_reply(tx, 201)
        return responses.unsuccessful_reply(tx, params)

    def find(self, transaction_id):
        """``GET /transactions/{id}``."""
        tx = self.store.transaction(transaction_id)
        if tx is not None and self._expiry_due(tx):
            with self.store.lock:
                tx = self._expire_locked(self.store.transaction(transaction_id))
        return self._transaction_reply(tx) if tx else NOT_FOUND

    def _expiry_due(self, tx):
        expires_at = tx.get("authorization_expires_at")
        return tx["status"] == "authorized" and expires_at is not None and expires_at <= now_iso(self.clock)

    def _expire_locked(self, tx):
        """``tx``, moved to ``authorization_expired`` if its authorization lapsed (under the store lock)."""
        if tx is not None and self._expiry_due(tx):
            self._transition(tx, "authorization_expired")
            self.store.save_transaction(tx)
        return tx

    def expire_authorizations(self):
        """Expire every lapsed authorization now; returns their ids (searches and the settler call it)."""
        with self.store.lock:
            due = [tx for tx in self.store.transactions() if self._expiry_due(tx)]
            for tx in due:
                self._expire_locked(tx)
        return [tx["id"] for tx in due]

    def line_items(self, transaction_id):
        """``GET /transactions/{id}/line_items``: the simulator never stores line items."""
        if self.store.transaction(transaction_id) is None:
            return NOT_FOUND
        return Reply(200, xmlcodec.render("line_items", xmlcodec.Array("line_item")))

    def search_ids(self, criteria):
        """``POST /transactions/advanced_search_ids``."""
        self.expire_authorizations()
        try:
            ids = search.find_ids(self.store.transactions(), criteria)
        except UnsupportedCriterion as exc:
            return responses.unsupported_search_reply(exc)
        return responses.search_ids_reply(ids)

    def search_page(self, criteria):
        """``POST /transactions/advanced_search``."""
        try:
            found = search.page(self.store.transaction, criteria)
        except UnsupportedCriterion as exc:
            return responses.unsupported_search_reply(exc)
        return responses.search_page_reply(found, self.disputes_of)

    def disputes_of(self, tx):
        """The dispute dicts opened against ``tx``, oldest first."""
        return [self.store.dispute(dispute_id) for dispute_id in tx.get("dispute_ids", ())]

    def void(self, transaction_id, params):
        """``PUT /transactions/{id}/void``."""
        with self.store.lock:
            tx = self._expire_locked(self.store.transaction(transaction_id))
            if tx is None:
                return NOT_FOUND
            if tx["status"] not in VOIDABLE:
                return responses.error_reply([error("91504", "base")], params)
            self._transition(tx, "voided")
            self.store.save_transaction(tx)
        return self._transaction_reply(tx)

    def submit_for_settlement(self, transaction_id, params):
        """``PUT /transactions/{id}/submit_for_settlement``, optionally for a smaller amount."""
        with self.store.lock:
            tx = self._expire_locked(self.store.transaction(transaction_id))
            if tx is None:
                return NOT_FOUND
            if tx["status"] != "authorized":
                return responses.error_reply([error("91507", "base")], params)
            amount, amount_error = sandbox.parse_amount(params.get("amount"), required=False)
            if amount_error:
                return responses.error_reply([amount_error], params)
            if amount is not None and amount > Decimal(tx["amount"]):
                return responses.error_reply([error("91522", "amount")], params)
            if params.get("order_id"):
                tx["order_id"] = params["order_id"]
            if isinstance(params.get("descriptor"), dict):
                tx["descriptor"] = _descriptor(params["descriptor"])
            self._transition(
                tx, "submitted_for_settlement", responses.money(amount) if amount else None
            )
            self.store.save_transaction(tx)
        return self._transaction_reply(tx)

    def submit_for_partial_settlement(self, transaction_id, params):
        """``POST /transactions/{id}/submit_for_partial_settlement``: capture part of an authorization.

        Each call is a new sale transaction for ``amount`` (``authorized_transaction_id`` names the
        authorization), submitted for settlement; the authorization moves to
        ``settlement_pending`` and lists it in ``partial_settlement_transaction_ids``. Together the
        parts never exceed the authorization (91522); a part itself cannot be split (915103).
        """
        with self.store.lock:
            tx = self._expire_locked(self.store.transaction(transaction_id))
            if tx is None:
                return NOT_FOUND
            if tx.get("authorized_transaction_id") or tx["type"] != "sale" or tx["status"] not in (
                "authorized", "settlement_pending"
            ) or (tx["status"] == "settlement_pending" and not tx.get("partial_settlement_transaction_ids")):
                return responses.error_reply([error("915103", "base")], params)
            amount, amount_error = sandbox.parse_amount(params.get("amount"))
            if amount_error:
                return responses.error_reply([amount_error], params)
            parts = [self.store.transaction(i) for i in tx.get("partial_settlement_transaction_ids", [])]
            settled = sum((Decimal(p["amount"]) for p in parts if p and p["status"] != "voided"), Decimal("0"))
            if settled + amount > Decimal(tx["amount"]):
                return responses.error_reply([error("91522", "amount")], params)
            part = self._new_transaction(
                "sale", amount, tx["card"], params.get("order_id") or tx["order_id"],
                sandbox.authorize(amount), tx["merchant_account_id"],
                api_request_key=params.get("api_request_key"), currency=tx["currency_iso_code"],
            )
            part["authorized_transaction_id"] = tx["id"]
            if isinstance(params.get("descriptor"), dict):
                part["descriptor"] = _descriptor(params["descriptor"])
            self._transition(part, "submitted_for_settlement")
            tx.setdefault("partial_settlement_transaction_ids", []).append(part["id"])
            if tx["status"] != "settlement_pending":
                self._transition(tx, "settlement_pending")
            else:
                tx["updated_at"] = part["created_at"]
            self.store.save_transaction(part)
            self.store.save_transaction(tx)
        return self._transaction_reply(part)

    def _refunded_total(self, tx):
        credits = (self.store.transaction(credit_id) for credit_id in tx["refund_ids"])
        return sum(
            (Decimal(credit["amount"]) for credit in credits
             if credit and credit["status"] not in ("voided", "failed")),
            Decimal("0"),
        )

    def refund(self, transaction_id, params):
        """``POST /transactions/{id}/refund``: a new credit against a settled sale."""
        with self.store.lock:
            tx = self.store.transaction(transaction_id)
            if tx is None:
                return NOT_FOUND
            if tx["type"] == "credit":
                return responses.error_reply([error("91505", "base")], params)
            if tx["status"] not in REFUNDABLE:
                return responses.error_reply([error("91506", "base")], params)
            remaining = Decimal(tx["amount"]) - self._refunded_total(tx)
            if remaining <= 0:
                return responses.error_reply([error("91512", "base")], params)
            amount, amount_error = sandbox.parse_amount(params.get("amount"), required=False)
            if amount_error:
                return responses.error_reply([amount_error], params)
            if amount is None:
                amount = remaining
            elif amount > remaining:
                return responses.error_reply([error("91521", "amount")], params)
            account = params.get("merchant_account_id") or tx["merchant_account_id"]
            if account not in self.merchant_accounts:
                return responses.error_reply([error("91513", "merchant_account_id")], params)
            auth, soft_decline = sandbox.refund_outcome(amount)
            credit = self._new_transaction(
                "credit", amount, tx["card"], params.get("order_id") or tx["order_id"],
                auth, account,
                api_request_key=params.get("api_request_key"),
                refunded_transaction_id=tx["id"], currency=tx["currency_iso_code"],
            )
            if auth.status == "processor_declined":
                # A hard-declined refund moved nothing: kept in the ledger, not on the sale.
                self.store.save_transaction(credit)
                return responses.unsuccessful_reply(credit, params)
            if soft_decline:
                credit["additional_processor_response"] = soft_decline
            tx["refund_ids"].append(credit["id"])
            tx["updated_at"] = credit["created_at"]
            self.store.save_transaction(credit)
            self.store.save_transaction(tx)
        return self._transaction_reply(credit, 201)

    def settle(self, transaction_id):
        """Settle one transaction using the sandbox settlement amounts; None if not allowed."""
        with self.store.lock:
            tx = self.store.transaction(transaction_id)
            if tx is None or tx["status"] not in SIMULATED_SETTLEMENT_FROM:
                return None
            status, code = "settled", "4000"
            if tx.get("force_settlement_decline"):
                status, code = "settlement_declined", sandbox.FORCED_SETTLEMENT_DECLINE_CODE
            elif tx["type"] == "sale":
                status, code = sandbox.settlement_outcome(Decimal(tx["amount"]))
            tx["processor_settlement_response_code"] = code
            tx["processor_settlement_response_text"] = (
                "Settlement Declined" if status == "settlement_declined" else "Settled"
            )
            tx["settlement_batch_id"] = time.strftime("%Y-%m-%d_sim", time.gmtime(self.clock()))
            self._transition(tx, status)
            self.store.save_transaction(tx)
            return tx

    def simulate(self, transaction_id, action):
        """The SDK's testing gateway: ``settle``, ``settlement_confirm``, ``_decline``, ``_pending``."""
        with self.store.lock:
            tx = self.store.transaction(transaction_id)
            if tx is None:
                return NOT_FOUND
            if tx["status"] not in SIMULATED_SETTLEMENT_FROM:
                return responses.error_reply([error("91575", "base")])
            if action == "settle":
                tx = self.settle(transaction_id)
            else:
                self._transition(tx, _TESTING_ACTIONS[action])
                self.store.save_transaction(tx)
        return self._transaction_reply(tx)

    def decline_settlement(self, transaction_id):
        """Testing: make this transaction's settlement fail, now if it is being settled.

        Returns ``(tx, declined_now)``; ``tx`` is None for an unknown id. An ``authorized``
        transaction is only marked, so its settlement declines once it is submitted and settles.
        """
        with self.store.lock:
            tx = self.store.transaction(transaction_id)
            if tx is None:
                return None, False
            if tx["status"] not in SIMULATED_SETTLEMENT_FROM | {"authorized"}:
                raise NotAllowed(f"cannot decline the settlement of a {tx['status']} transaction")
            tx["force_settlement_decline"] = True
            self.store.save_transaction(tx)
            if tx["status"] == "authorized":
                return tx, False
            return self.settle(transaction_id), True

    def open_dispute(self, params):
        """Testing: open a dispute (chargeback by default) on a captured sale."""
        with self.store.lock:
            tx = self.store.transaction(str(params.get("transaction_id") or ""))
            if tx is None:
                return None
            if tx["type"] != "sale" or tx["status"] not in DISPUTABLE:
                raise NotAllowed(f"cannot dispute a {tx['type']} in status {tx['status']}"
                                 f" (only a sale in {sorted(DISPUTABLE)})")
            reason = params.get("reason", "fraud")
            kind = params.get("kind", "chargeback")
            if reason not in DISPUTE_REASONS or kind not in DISPUTE_KINDS:
                raise NotAllowed(f"reason must be one of {sorted(DISPUTE_REASONS)} and kind"
                                 f" one of {sorted(DISPUTE_KINDS)}")
            amount = Decimal(tx["amount"])
            if params.get("amount") is not None:
                amount, amount_error = sandbox.parse_amount(str(params["amount"]))
                if amount_error or amount > Decimal(tx["amount"]):
                    raise NotAllowed("amount must be positive and at most the sale amount")
            stamp = now_iso(self.clock)
            day = time.gmtime(self.clock())
            dispute = {
                "id": self._new_id("dp_"),
                "transaction_id": tx["id"],
                "amount": responses.money(amount),
                "amount_won": None,
                "currency_iso_code": tx["currency_iso_code"],
                "kind": kind,
                "reason": reason,
                "reason_code": params.get("reason_code"),
                "status": "open",
                "case_number": "CASE-" + self._new_id(length=6).upper(),
                "reference_number": "REF-" + self._new_id(length=6).upper(),
                "created_at": stamp,
                "updated_at": stamp,
                "received_date": time.strftime("%Y-%m-%d", day),
                "reply_by_date": time.strftime(
                    "%Y-%m-%d", time.gmtime(self.clock() + 7 * 24 * 3600)),
                "date_won": None,
                "status_history": [{"status": "open", "timestamp": stamp}],
            }
            tx.setdefault("dispute_ids", []).append(dispute["id"])
            self.store.save_dispute(dispute)
            self.store.save_transaction(tx)
            # A copy: the webhook must show this state even if the dispute is decided meanwhile.
            return copy.deepcopy(dispute)

    def resolve_dispute(self, dispute_id, outcome):
        """Testing (``win``/``lose``) and ``dispute.accept``: close an open dispute."""
        with self.store.lock:
            dispute = self.store.dispute(dispute_id)
            if dispute is None:
                return None
            if dispute["status"] != "open":
                raise NotAllowed(f"dispute {dispute_id} is {dispute['status']}, not open")
            stamp = now_iso(self.clock)
            dispute["status"] = DISPUTE_OUTCOMES[outcome]
            dispute["updated_at"] = stamp
            dispute["status_history"].append({"status": dispute["status"], "timestamp": stamp})
            if outcome == "win":
                dispute["amount_won"] = dispute["amount"]
                dispute["date_won"] = stamp[:10]
            self.store.save_dispute(dispute)
            # The transaction's answer embeds its disputes; saving it drops the rendered copy.
            self.store.save_transaction(self.store.transaction(dispute["transaction_id"]))
            return copy.deepcopy(dispute)

    def find_dispute(self, dispute_id):
        """``GET /disputes/{id}`` (``dispute.find``)."""
        dispute = self.store.dispute(dispute_id)
        if dispute is None:
            return NOT_FOUND
        return responses.dispute_reply(dispute, self.store.transaction(dispute["transaction_id"]))

    def accept_dispute(self, dispute_id):
        """``PUT /disputes/{id}/accept`` (``dispute.accept``): 95704 unless the dispute is open."""
        try:
            dispute = self.resolve_dispute(dispute_id, "accept")
        except NotAllowed:
            return responses.error_reply([error("95704", "status")], resource="dispute")
        if dispute is None:
            return NOT_FOUND
        return Reply(200, xmlcodec.render("dispute", responses.dispute_doc(
            dispute, self.store.transaction(dispute["transaction_id"]))))

    def due_for_settlement(self, older_than):
        """Ids of transactions submitted for settlement at or before the epoch ``older_than``."""
        cutoff = now_iso(lambda: older_than)
        return [
            tx["id"] for tx in self.store.transactions()
            if tx["status"] == "submitted_for_settlement" and tx["updated_at"] <= cutoff
        ]

    def mint_nonce(self, card_params):
        """Tokenize a test card into a single-use nonce; return ``(nonce, record, errors)``."""
        card, errors = sandbox.card_from_params(card_params)
        if errors:
            return None, None, errors
        ttl = float(card_params.get("ttl_seconds") or self.nonce_ttl)
        with self.store.lock:
            nonce = self._new_id("tokencc_sim_", 16)
            record = {"card": card, "expires_at": self.clock() + ttl,
                      "consumed": False, "consumed_by": None}
            self.store.save_nonce(nonce, record)
        return nonce, record, []
