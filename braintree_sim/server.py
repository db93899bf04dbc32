"""HTTP front door: authentication, routing, fault injection and the ``/__sim__`` control API.

Gateway routes live under ``/merchants/{merchant_id}`` exactly as the SDK builds them; control
routes under ``/__sim__`` take and return JSON and never see injected faults, so a test can always
inspect the ledger or clear faults.
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
from braintree_sim.gateway import Gateway, request_fingerprint
from braintree_sim.store import Store
from braintree_sim.webhooks import AutoSettler

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
        ("PUT", rf"/transactions/{_ID}/void",
         lambda gw, m, p: gw.void(m["id"], transaction_params(p))),
        ("POST", rf"/transactions/{_ID}/refund",
         lambda gw, m, p: gw.refund(m["id"], transaction_params(p))),
        ("PUT", rf"/transactions/{_ID}/submit_for_settlement",
         lambda gw, m, p: gw.submit_for_settlement(m["id"], transaction_params(p))),
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
        self.store = Store(config.state_path)
        self.gateway = Gateway(self.store, seed=config.seed, nonce_ttl=config.nonce_ttl)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self._wake = threading.Event()
        self._thread = None
        self.settler = None
        if config.settle_after is not None:
            self.settler = AutoSettler(self.gateway, config.settle_after, config.webhook_url,
                                       config.public_key, config.private_key)
        expected = f"{config.public_key}:{config.private_key}".encode("utf-8")
        self.expected_auth = "Basic " + base64.b64encode(expected).decode("ascii")
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

    def reset(self):
        """Clear ledger, nonces, idempotency records and faults."""
        self.wake_sleepers()
        self.store.reset()
        self.faults.replace({})

    def start(self):
        """Serve in a daemon thread (in-process use); returns ``self``."""
        if self.settler is not None:
            self.settler.start()
        self._thread = threading.Thread(target=self.serve_forever, name="braintree-sim",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stop serving and release the port and the state file."""
        if self.settler is not None:
            self.settler.stop()
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

    def _send(self, status, body=b"", content_type="application/xml; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status, doc):
        self._send(status, json.dumps(doc).encode("utf-8"), "application/json")

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
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
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _control(self, url, body):
        server = self.server
        route = (self.command, url.path)
        if route == ("GET", HEALTH_PATH):
            return self._send_json(200, {"status": "ok", "merchant_id": server.config.merchant_id})
        if route == ("GET", "/__sim__/transactions"):
            order_id = parse_qs(url.query).get("order_id", [None])[0]
            rows = [responses.ledger_row(tx) for tx in server.store.transactions()
                    if order_id is None or tx["order_id"] == order_id]
            return self._send_json(200, {"transactions": rows})
        if route == ("GET", "/__sim__/faults"):
            return self._send_json(200, server.faults.as_json())
        if route == ("POST", "/__sim__/faults"):
            try:
                server.faults.replace(json.loads(body or b"{}"))
            except (ValueError, InvalidFaults) as exc:
                return self._send_json(400, {"error": str(exc)})
            return self._send_json(200, server.faults.as_json())
        if route == ("POST", "/__sim__/reset"):
            server.reset()
            return self._send_json(200, {"status": "reset"})
        if route == ("POST", "/__sim__/nonces"):
            return self._mint_nonce(body)
        if route == ("POST", "/__sim__/settle"):
            settled = server.gateway.due_for_settlement(time.time() + 1)
            rows = [responses.ledger_row(tx) for tx in map(server.gateway.settle, settled) if tx]
            return self._send_json(200, {"transactions": rows})
        return self._send_json(404, {"error": f"no control route {self.command} {url.path}"})

    def _mint_nonce(self, body):
        try:
            card_params = json.loads(body or b"{}")
        except ValueError as exc:
            return self._send_json(400, {"error": f"malformed JSON: {exc}"})
        if not isinstance(card_params, dict):
            return self._send_json(400, {"error": "expected a JSON object"})
        nonce, record, errors = self.server.gateway.mint_nonce(card_params)
        if errors:
            return self._send_json(422, {"errors": [
                {"code": err.code, "attribute": err.attribute, "message": err.message}
                for err in errors
            ]})
        return self._send_json(201, {"nonce": nonce, "expires_at": record["expires_at"],
                                     "details": sandbox.card_summary(record["card"])})

