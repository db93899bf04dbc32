"""HTTP front door: authentication, routing, fault injection and the ``/__sim__`` control API.

Gateway routes live under ``/merchants/{merchant_id}`` exactly as the SDK builds them; control
routes under ``/__sim__`` take and return JSON and never see injected faults, so a test can always
inspect the ledger or clear faults. Control routes other than health need a bearer token when
one is configured.
"""

import base64
import hmac
import json
import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from braintree_sim import responses, sandbox, xmlcodec
from braintree_sim.config import SimConfig
from braintree_sim.faults import FaultInjector, InvalidFaults
from braintree_sim.gateway import Gateway, NotAllowed, request_fingerprint
from braintree_sim.store import Store
from braintree_sim.webhooks import AutoSettler, Outbox, notify_settled

log = logging.getLogger(__name__)

HEALTH_PATH = "/__sim__/health"
_ID = r"(?P<id>[A-Za-z0-9_-]+)"
_TESTING = ("settle", "settlement_confirm", "settlement_decline", "settlement_pending")


def _route_table():
    """``(method, regex, handler)``; a handler gets ``(gateway, match, params)``."""
    def transaction_params(params):
        return params if isinstance(params, dict) else {}

    table = [
        ("POST", r"/transactions", lambda gw, m, p: gw.sale(transaction_params(p))),
        ("POST", r"/transactions/advanced_search_ids", lambda gw, m, p: gw.search_ids(p)),
        ("POST", r"/transactions/advanced_search", lambda gw, m, p: gw.search_page(p)),
        ("GET", rf"/transactions/{_ID}", lambda gw, m, p: gw.find(m["id"])),
        ("GET", rf"/transactions/{_ID}/line_items", lambda gw, m, p: gw.line_items(m["id"])),
        ("GET", rf"/disputes/{_ID}", lambda gw, m, p: gw.find_dispute(m["id"])),
        ("PUT", rf"/disputes/{_ID}/accept", lambda gw, m, p: gw.accept_dispute(m["id"])),
        ("PUT", rf"/transactions/{_ID}/void",
         lambda gw, m, p: gw.void(m["id"], transaction_params(p))),
        ("POST", rf"/transactions/{_ID}/refund",
         lambda gw, m, p: gw.refund(m["id"], transaction_params(p))),
        ("PUT", rf"/transactions/{_ID}/submit_for_settlement",
         lambda gw, m, p: gw.submit_for_settlement(m["id"], transaction_params(p))),
        ("POST", rf"/transactions/{_ID}/submit_for_partial_settlement",
         lambda gw, m, p: gw.submit_for_partial_settlement(m["id"], transaction_params(p))),
        # The vault (braintree_sim/vault.py).
        ("POST", r"/customers", lambda gw, m, p: gw.vault.create_customer(transaction_params(p))),
        ("GET", rf"/customers/{_ID}", lambda gw, m, p: gw.vault.find_customer(m["id"])),
        ("DELETE", rf"/customers/{_ID}", lambda gw, m, p: gw.vault.delete_customer(m["id"])),
        ("POST", r"/payment_methods",
         lambda gw, m, p: gw.vault.create_payment_method(transaction_params(p))),
        ("GET", rf"/payment_methods/(?:any|credit_card)/{_ID}",
         lambda gw, m, p: gw.vault.find_payment_method(m["id"])),
        ("DELETE", rf"/payment_methods/(?:any|credit_card)/{_ID}",
         lambda gw, m, p: gw.vault.delete_payment_method(m["id"])),
    ]
    table.extend(
        ("PUT", rf"/transactions/{_ID}/{action}",
         lambda gw, m, p, action=action: gw.simulate(m["id"], action))
        for action in _TESTING
    )
    return [(method, re.compile(pattern + r"\Z"), handler) for method, pattern, handler in table]


ROUTES = _route_table()


class Aborted(Exception):
    """A delayed request was released by reset/shutdown; it must not commit into the new state."""


IDEMPOTENT_ROOTS = {"transaction"}


class SimServer(ThreadingHTTPServer):
    """A running simulator: HTTP server plus gateway, faults and the optional settler."""

    daemon_threads = True
    # Many SDK clients connect at once during benchmarks; the default backlog of 5 drops SYNs.
    request_queue_size = 256

    def __init__(self, config):
        self.config = config
        if not config.merchant_accounts:
            raise ValueError("at least one merchant account is needed")
        self.store = Store(config.state_path)
        self.gateway = Gateway(self.store, seed=config.seed, nonce_ttl=config.nonce_ttl,
                               merchant_accounts=config.merchant_accounts,
                               authorization_ttl=config.authorization_ttl)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.outbox = Outbox(config.webhook_url, config.public_key, config.private_key,
                             attempts=config.webhook_attempts,
                             retry_delay=config.webhook_retry_delay)
        self._wake = threading.Event()
        self._thread = None
        self._background_started = False
        # One thread per connection, at most max_connections at once: further connections wait
        # in the listen backlog instead of growing the thread count without bound.
        self._slots = threading.BoundedSemaphore(config.max_connections)
        self._closing = threading.Event()
        self.settler = None
        if config.settle_after is not None:
            self.settler = AutoSettler(self.gateway, config.settle_after, self.outbox)
        expected = f"{config.public_key}:{config.private_key}".encode("utf-8")
        self.expected_auth = "Basic " + base64.b64encode(expected).decode("ascii")
        self.expected_control_auth = (
            f"Bearer {config.control_token}".encode("utf-8") if config.control_token else None
        )
        super().__init__((config.host, config.port), Handler)

    @property
    def url(self):
        """Base URL, e.g. ``http://127.0.0.1:8600``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def pause(self, seconds):
        """Sleep for an injected delay; raise :class:`Aborted` if ``reset`` or ``close`` cut it short."""
        if seconds > 0 and self._wake.wait(seconds):
            raise Aborted()

    def wake_sleepers(self):
        """Release requests stuck in injected latency or hangs."""
        wake, self._wake = self._wake, threading.Event()
        wake.set()

    def process_request(self, request, client_address):
        while not self._slots.acquire(timeout=0.5):
            if self._closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def reset(self):
        """Clear ledger, disputes, nonces, idempotency records, webhooks and faults."""
        self.wake_sleepers()
        self.store.reset()
        self.outbox.reset()
        self.faults.replace({})

    def start_background(self):
        """Start the webhook outbox and the auto-settler (idempotent)."""
        if self._background_started:
            return
        self._background_started = True
        self.outbox.start()
        if self.settler is not None:
            self.settler.start()

    def start(self):
        """Serve in a daemon thread (in-process use); returns ``self``."""
        self.start_background()
        self._thread = threading.Thread(target=self.serve_forever, name="braintree-sim",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stop serving and release the port and the state file."""
        self._closing.set()
        if self.settler is not None:
            self.settler.stop()
        self.outbox.stop()
        self.wake_sleepers()
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def make_server(config=None):
    """Bind a simulator for ``config`` (port 0 picks a free port); call ``.start()`` to serve."""
    return SimServer(config or SimConfig())


class Handler(BaseHTTPRequestHandler):
    """One request; HTTP/1.1 so the SDK's ``requests.Session`` keeps connections alive."""

    protocol_version = "HTTP/1.1"
    server_version = "braintree_sim"
    # Buffer the whole response and flush once: headers and body written separately meet the
    # client's delayed ACK and cost ~40 ms per keep-alive request.
    wbufsize = -1
    disable_nagle_algorithm = True

    def setup(self):
        # StreamRequestHandler applies self.timeout to the socket: a client that stalls while
        # sending, or keeps an idle connection, frees its thread after this many seconds.
        self.timeout = self.server.config.socket_timeout
        super().setup()

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    # (second, Date header value); the header has 1 s resolution and email.utils.formatdate on
    # every answer cost ~7% of the server's time per request.
    _date = (None, "")

    def date_time_string(self, timestamp=None):
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second, text = Handler._date
        now = int(time.time())
        if now != second:
            text = super().date_time_string(now)
            Handler._date = (now, text)
        return text

    def log_message(self, format, *args):
        if not self.server.config.quiet:
            log.info("%s %s", self.address_string(), format % args)

    def log_request(self, code="-", size="-"):
        # Replaced by the one structured line per request that _dispatch writes.
        self._status = code

    def _log_request_line(self, started):
        """One logfmt line per request: method, path, status, latency and the faults applied."""
        if self.server.config.quiet:
            return
        status = getattr(self, "_status", "-")
        status = getattr(status, "value", status)
        log.info(
            "request method=%s path=%s status=%s latency_ms=%.1f fault=%s",
            self.command,
            urlsplit(self.path).path,
            "dropped" if getattr(self, "_dropped", False) else status,
            (time.monotonic() - started) * 1000,
            ",".join(getattr(self, "_faults", ())) or "none",
        )

    def _send(self, status, body=b"", content_type="application/xml; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status, doc):
        self._send(status, json.dumps(doc).encode("utf-8"), "application/json")

    def _read_body(self):
        """The request body, or None after answering 400/411/413 for one that cannot be read."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            self._send(411)
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(400)
            return None
        if length > self.server.config.max_body_bytes:
            # The body stays unread, so the connection cannot carry another request.
            self.close_connection = True
            self._send(413)
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self):
        started = time.monotonic()
        self._status, self._faults, self._dropped = "-", (), False
        try:
            self._dispatch_request()
        finally:
            self._log_request_line(started)

    def _dispatch_request(self):
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        try:
            if url.path.startswith("/__sim__/"):
                self._control(url, body)
            else:
                self._gateway(url.path, body)
        except Exception:
            # A bug in one request must never take the server down; the client sees a 500.
            log.exception("unhandled error for %s %s", self.command, self.path)
            self.close_connection = True
            self._send(500)

    def _gateway(self, path, body):
        server = self.server
        supplied = self.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode("utf-8"), server.expected_auth.encode("utf-8")):
            return self._send(401)
        prefix = f"/merchants/{server.config.merchant_id}/"
        if not path.startswith(prefix):
            return self._send(404)
        relative = path[len(prefix) - 1:]
        for method, pattern, handler in ROUTES:
            match = pattern.match(relative) if method == self.command else None
            if match:
                break
        else:
            return self._send(404)
        decision = server.faults.decide(self.command, relative)
        self._faults = tuple(decision.rules)
        try:
            root, params = xmlcodec.parse(body)
        except xmlcodec.MalformedXML as exc:
            return self._send(400, xmlcodec.render("error", {"message": f"Malformed XML: {exc}"}))
        try:
            if decision.error_status:
                server.pause(decision.delay)
                return self._send(decision.error_status)
            reply = self._run(handler, match, root, params, relative, decision.delay)
        except Aborted:
            return self._drop()
        if decision.drop:
            return self._drop()
        self._send(reply.status, reply.body)

    def _run(self, handler, match, root, params, relative, delay):
        gateway = self.server.gateway

        def pause():
            self.server.pause(delay)

        def operation():
            return handler(gateway, match, params)

        key = params.get("api_request_key") if root in IDEMPOTENT_ROOTS and params else None
        if not key or self.command == "GET" or relative.startswith("/transactions/advanced_search"):
            pause()
            return operation()
        fingerprint = request_fingerprint(self.command, relative, params)
        return gateway.idempotent(key, fingerprint, operation, pause)

    def _drop(self):
        """Close the socket without answering: the work is committed, the client never hears."""
        self.close_connection = True
        self._dropped = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _control(self, url, body):
        server = self.server
        if (self.command, url.path) == ("GET", HEALTH_PATH):
            # Readiness stays open so probes and launch.wait_until_ready need no secret.
            return self._send_json(200, {"status": "ok", "merchant_id": server.config.merchant_id})
        if server.expected_control_auth is not None:
            supplied = self.headers.get("Authorization", "").encode("utf-8")
            if not hmac.compare_digest(supplied, server.expected_control_auth):
                return self._send_json(401, {"error": "control routes need a bearer token"})
        for method, pattern, name in CONTROL_ROUTES:
            match = pattern.match(url.path) if method == self.command else None
            if match:
                break
        else:
            return self._send_json(404, {"error": f"no control route {self.command} {url.path}"})
        if body:
            try:
                doc = json.loads(body)
            except ValueError as exc:
                return self._send_json(400, {"error": f"malformed JSON: {exc}"})
        else:
            doc = {}
        if not isinstance(doc, dict):
            return self._send_json(400, {"error": "expected a JSON object"})
        try:
            status, answer = getattr(self, "_control_" + name)(match, doc, url)
        except NotAllowed as exc:
            status, answer = 409, {"error": str(exc)}
        self._send_json(status, answer)

    def _control_ledger(self, match, doc, url):
        order_id = parse_qs(url.query).get("order_id", [None])[0]
        rows = [responses.ledger_row(tx) for tx in self.server.store.transactions()
                if order_id is None or tx["order_id"] == order_id]
        return 200, {"transactions": rows}

    def _control_get_faults(self, match, doc, url):
        return 200, self.server.faults.as_json()

    def _control_set_faults(self, match, doc, url):
        try:
            self.server.faults.replace(doc)
        except (ValueError, InvalidFaults) as exc:
            return 400, {"error": str(exc)}
        return 200, self.server.faults.as_json()

    def _control_reset(self, match, doc, url):
        self.server.reset()
        return 200, {"status": "reset"}

    def _control_merchant_accounts(self, match, doc, url):
        gateway = self.server.gateway
        return 200, {"merchant_accounts": [
            {"id": account_id, "currency_iso_code": currency,
             "default": account_id == gateway.default_merchant_account_id}
            for account_id, currency in gateway.merchant_accounts.items()
        ]}

    def _control_settle(self, match, doc, url):
        server = self.server
        settled = [tx for tx in map(server.gateway.settle,
                                    server.gateway.due_for_settlement(time.time() + 1)) if tx]
        if doc.get("notify") is True:
            notify_settled(server.outbox, server.gateway, settled)
        return 200, {"transactions": [responses.ledger_row(tx) for tx in settled]}

    def _control_decline_settlement(self, match, doc, url):
        server = self.server
        tx, declined_now = server.gateway.decline_settlement(match["id"])
        if tx is None:
            return 404, {"error": f"no transaction {match['id']}"}
        if declined_now:
            notify_settled(server.outbox, server.gateway, [tx])
        return 200, {"transaction": responses.ledger_row(tx), "declined_now": declined_now}

    def _control_open_dispute(self, match, doc, url):
        server = self.server
        dispute = server.gateway.open_dispute(doc)
        if dispute is None:
            return 404, {"error": f"no transaction {doc.get('transaction_id')!r}"}
        webhook = self._notify_dispute(dispute)
        return 201, {"dispute": responses.dispute_row(dispute), "webhook_id": webhook["id"]}

    def _control_resolve_dispute(self, match, doc, url):
        dispute = self.server.gateway.resolve_dispute(match["id"], match["outcome"])
        if dispute is None:
            return 404, {"error": f"no dispute {match['id']}"}
        webhook = self._notify_dispute(dispute)
        return 200, {"dispute": responses.dispute_row(dispute), "webhook_id": webhook["id"]}

    def _notify_dispute(self, dispute):
        server = self.server
        return server.outbox.dispute(dispute, server.store.transaction(dispute["transaction_id"]))

    def _control_disputes(self, match, doc, url):
        return 200, {"disputes": [responses.dispute_row(d) for d in self.server.store.disputes()]}

    def _control_webhooks(self, match, doc, url):
        server = self.server
        return 200, {"url": server.config.webhook_url, "webhooks": server.outbox.records()}

    def _control_redeliver_webhook(self, match, doc, url):
        server = self.server
        if server.config.webhook_url is None:
            return 409, {"error": "no --webhook-url configured"}
        record = server.outbox.redeliver(match["id"])
        if record is None:
            return 404, {"error": f"no webhook {match['id']}"}
        return 201, {"webhook": record}

    def _control_mint_nonce(self, match, card_params, url):
        nonce, record, errors = self.server.gateway.mint_nonce(card_params)
        if errors:
            return 422, {"errors": [
                {"code": err.code, "attribute": err.attribute, "message": err.message}
                for err in errors
            ]}
        return 201, {"nonce": nonce, "expires_at": record["expires_at"],
                     "details": sandbox.card_summary(record["card"])}


CONTROL_ROUTES = [
    (method, re.compile(pattern + r"\Z"), name) for method, pattern, name in (
        ("GET", "/__sim__/transactions", "ledger"),
        ("GET", "/__sim__/faults", "get_faults"),
        ("POST", "/__sim__/faults", "set_faults"),
        ("POST", "/__sim__/reset", "reset"),
        ("POST", "/__sim__/nonces", "mint_nonce"),
        ("POST", "/__sim__/settle", "settle"),
        ("GET", "/__sim__/merchant_accounts", "merchant_accounts"),
        ("POST", rf"/__sim__/transactions/{_ID}/decline_settlement", "decline_settlement"),
        ("GET", "/__sim__/disputes", "disputes"),
        ("POST", "/__sim__/disputes", "open_dispute"),
        ("POST", rf"/__sim__/disputes/{_ID}/(?P<outcome>win|lose|accept)", "resolve_dispute"),
        ("GET", "/__sim__/webhooks", "webhooks"),
        ("POST", rf"/__sim__/webhooks/{_ID}/redeliver", "redeliver_webhook"),
    )
]
