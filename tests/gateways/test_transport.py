"""PooledHttp, the SDK's transport: what it sends, which TLS and proxy it picks, how it fails."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import braintree
import pytest
import urllib3
from braintree.exceptions import http as sdk_http
from braintree.exceptions.unexpected_error import UnexpectedError
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from payments.gateways import braintree as adapter
from payments.gateways.transport import PooledHttp, proxy_for


def _environment(port, *, ssl=False, certificate=None):
    return braintree.Environment("t", "127.0.0.1", str(port), "", ssl, certificate)


def _config(environment, timeout=2, strategy=PooledHttp, **kwargs):
    return braintree.Configuration(
        environment=environment, merchant_id="m", public_key="pub", private_key="priv", timeout=timeout,
        wrap_http_exceptions=True, http_strategy=strategy, **kwargs,
    )


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with a small XML body; records what it received."""

    protocol_version = "HTTP/1.1"
    seen = []
    content_type = "application/xml; charset=utf-8"
    close_after = False

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, self.path, dict(self.headers), body, self.client_address[1]))
        payload = "<client-token><value>caf\u00e9</value></client-token>".encode()
        self.send_response(200)
        self.send_header("Content-Type", type(self).content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = type(self).close_after

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args):
        super().__init__(*args)
        self.closed = threading.Semaphore(0)  # released once per connection the server closed

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.closed.release()


@pytest.fixture
def server():
    _Recorder.seen = []
    httpd = _Server(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("call", [
    pytest.param(lambda http: http.post("/merchants/m/client_token", {"client_token": {"version": "2"}}), id="POST"),
    pytest.param(lambda http: http.put("/merchants/m/transactions/abc/void", {}), id="PUT"),
    pytest.param(lambda http: http.get("/merchants/m/transactions/abc"), id="GET"),
    pytest.param(lambda http: http.delete("/merchants/m/payment_methods/any/token"), id="DELETE"),
])
def test_the_sdk_request_goes_out_byte_for_byte_as_through_the_sdks_own_transport(server, call):
    # given
    environment = _environment(server.server_port)

    # when: the same call through the SDK's transport, then through PooledHttp
    answers = [call(_config(environment, strategy=strategy).http()) for strategy in (None, PooledHttp)]

    # then: the same method, path, headers and body arrived, and the same answer came back
    assert answers[0] == answers[1] == {"client_token": {"value": "caf\u00e9"}}
    sdk, pooled = _Recorder.seen
    assert sdk[2]["Authorization"].startswith("Basic ")
    assert pooled[:4] == sdk[:4]


def test_calls_from_many_threads_share_a_few_kept_alive_connections(server):
    # given
    config = _config(_environment(server.server_port))
    http = config.http()

    # when: 40 calls from 4 threads, 10 each
    def ten():
        for _ in range(10):
            http.get("/merchants/m/ping")

    threads = [threading.Thread(target=ten) for _ in range(4)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()

    # then: at most one connection per thread, reused for every call
    client_ports = {seen[-1] for seen in _Recorder.seen}
    assert len(_Recorder.seen) == 40
    assert 1 <= len(client_ports) <= 4


def test_the_answer_is_decoded_with_the_charset_it_names(server):
    # given
    _Recorder.content_type = "application/xml; charset=iso-8859-1"
    try:
        http = _config(_environment(server.server_port)).http()

        # when
        answer = http.get("/merchants/m/x")
    finally:
        _Recorder.content_type = "application/xml; charset=utf-8"

    # then: the UTF-8 bytes of "é" read as Latin-1, as the header says
    assert answer == {"client_token": {"value": "caf\u00c3\u00a9"}}


def test_connections_idle_past_the_sdks_limit_are_replaced(server, monkeypatch):
    # given
    clock = [1000.0]
    monkeypatch.setattr("payments.gateways.transport.time.monotonic", lambda: clock[0])
    http = _config(_environment(server.server_port), max_connection_idle_seconds=60).http()
    http.get("/merchants/m/a")
    clock[0] += 30
    http.get("/merchants/m/b")

    # when
    clock[0] += 61
    http.get("/merchants/m/c")

    # then: the first two calls shared a connection, the third opened a new one
    ports = [seen[-1] for seen in _Recorder.seen]
    assert ports[0] == ports[1]
    assert ports[2] != ports[1]


def test_a_connection_the_server_closed_while_idle_is_not_reused(server, monkeypatch):
    # given: the server hangs up after each answer without saying so (an idle timeout elsewhere)
    http = _config(_environment(server.server_port)).http()
    monkeypatch.setattr(_Recorder, "close_after", True)
    http.get("/merchants/m/a")
    assert server.closed.acquire(timeout=5)  # the server has hung up, as an idle timeout would

    # when
    answer = http.get("/merchants/m/b")

    # then: the second call went out once, on a new connection
    assert answer == {"client_token": {"value": "caf\u00e9"}}
    assert [seen[1] for seen in _Recorder.seen] == ["/merchants/m/a", "/merchants/m/b"]
    assert _Recorder.seen[0][-1] != _Recorder.seen[1][-1]


@pytest.mark.parametrize("verb", ["POST", "GET"])
def test_a_request_whose_answer_never_comes_is_sent_once(verb):
    # given: a server that reads each request and hangs up without answering
    received = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        for _ in range(3):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                received.append(conn.recv(65536))

    threading.Thread(target=serve, daemon=True).start()
    http = _config(_environment(listener.getsockname()[1])).http()

    # when
    with pytest.raises(sdk_http.ConnectionError):
        if verb == "POST":
            http.post("/merchants/m/transactions", {"transaction": {"amount": "1.00"}})
        else:
            http.get("/merchants/m/transactions/abc")
    listener.close()

    # then: no transport-level retry; whether to try again is the charge path's call
    assert len(received) == 1 and received[0].startswith(f"{verb} /merchants/m/transactions".encode())


def test_a_refused_connection_is_the_sdks_connection_error():
    # given
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = _config(_environment(port)).http()

    # when / then
    with pytest.raises(sdk_http.ConnectionError):
        http.get("/merchants/m/x")


def test_a_silent_server_is_the_sdks_read_timeout_after_the_configured_timeout():
    # given: a listener that accepts and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        http = _config(_environment(silent.getsockname()[1]), timeout=0.3).http()

        # when / then
        with pytest.raises(sdk_http.timeout_error.ReadTimeoutError):
            http.get("/merchants/m/x")


@pytest.mark.parametrize("error, expected", [
    (NewConnectionError(None, "refused"), sdk_http.ConnectionError),
    (NameResolutionError("gw.example", None, OSError("no such host")), sdk_http.ConnectionError),
    (ProtocolError("Connection aborted.", ConnectionResetError()), sdk_http.ConnectionError),
    (SSLError("certificate verify failed"), sdk_http.ConnectionError),
    (ConnectTimeoutError("connect timed out"), sdk_http.timeout_error.ConnectTimeoutError),
    (ReadTimeoutError(None, "/x", "read timed out"), sdk_http.timeout_error.ReadTimeoutError),
    (DecodeError("bad gzip"), sdk_http.InvalidResponseError),
    (urllib3.exceptions.LocationParseError("::"), UnexpectedError),
])
def test_urllib3_errors_become_the_sdks_transport_errors(error, expected):
    # given
    http = PooledHttp(_config(_environment(1), strategy=None))

    # when / then
    with pytest.raises(expected) as raised:
        http.handle_exception(error)
    assert type(raised.value) is expected
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", [
    NewConnectionError(None, "refused"),
    ReadTimeoutError(None, "/x", "read timed out"),
    ProtocolError("Connection aborted.", ConnectionResetError()),
])
def test_the_adapter_treats_every_transport_error_as_transient(error):
    # given
    http = PooledHttp(_config(_environment(1), strategy=None))
    with pytest.raises(UnexpectedError) as raised:
        http.handle_exception(error)

    # when / then
    with pytest.raises(adapter.GatewayUnavailable):
        adapter._raise_mapped(raised.value, "sale")


def test_braintrees_environments_are_verified_against_braintrees_own_certificates():
    # given
    production = PooledHttp(_config(braintree.Environment.Production, strategy=None))

    # when
    kwargs = production.pool.connection_pool_kw

    # then
    assert kwargs["cert_reqs"] == "CERT_REQUIRED"
    assert kwargs["ca_certs"] == braintree.Environment.Production.ssl_certificate
    assert kwargs["retries"].total is False  # a sale is sent once


def test_only_the_sdks_development_environment_skips_verification():
    # given
    development = PooledHttp(_config(braintree.Environment.Development, strategy=None))
    plain = PooledHttp(_config(_environment(8600), strategy=None))

    # then
    assert development.pool.connection_pool_kw["cert_reqs"] == "CERT_NONE"
    assert plain.pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"


def test_an_https_proxy_from_the_environment_is_used_for_braintree(monkeypatch):
    # given
    monkeypatch.setenv("https_proxy", "http://egress.internal:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)

    # when
    http = PooledHttp(_config(braintree.Environment.Production, strategy=None))

    # then
    assert isinstance(http.pool, urllib3.ProxyManager)
    assert http.pool.proxy.host == "egress.internal"


def test_no_proxy_and_other_schemes_bypass_the_proxy(monkeypatch):
    # given
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.setenv("https_proxy", "http://egress.internal:3128")

    # then
    monkeypatch.setenv("no_proxy", "braintreegateway.com")
    assert proxy_for("https://api.braintreegateway.com:443") is None
    monkeypatch.delenv("no_proxy")
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert proxy_for("http://127.0.0.1:8600") is None
    assert proxy_for("https://api.braintreegateway.com:443") == "http://egress.internal:3128"


def test_the_transport_is_chosen_by_setting(settings):
    # given
    settings.BRAINTREE_HTTP_MAX_CONNECTIONS = 7

    # when
    settings.BRAINTREE_HTTP_TRANSPORT = "pooled"
    pooled = adapter._build_sdk().config.http_strategy()
    settings.BRAINTREE_HTTP_TRANSPORT = "sdk"
    own = adapter._build_sdk().config.http_strategy()

    # then
    assert type(pooled) is PooledHttp and pooled.pool.connection_pool_kw["maxsize"] == 7
    assert type(own) is braintree.util.http.Http


def test_an_unknown_transport_is_refused(settings):
    settings.BRAINTREE_HTTP_TRANSPORT = "curl"

    with pytest.raises(adapter.ImproperlyConfigured, match="BRAINTREE_HTTP_TRANSPORT"):
        adapter._build_sdk()
