"""The HTTP transport under the Braintree SDK: one urllib3 connection pool per process.

The SDK builds each request (XML body, Basic auth, API version headers) and parses each answer;
only the exchange of bytes is delegated, through its documented ``http_strategy`` hook. Its own
strategy pays, on every call, for a fresh `requests.Request`, the session's cookie and redirect
machinery and two scans of the environment for proxies (``getproxies()``, then the session's own
lookup): about a fifth of the SDK's CPU per sale + find (``python -m bench.sdk_transport``).
This one sends the same bytes over a thread-safe `urllib3.PoolManager`:

- timeouts as the SDK's: ``Configuration.timeout`` bounds the connect and every read;
- no retries and no redirects: a sale is sent once, whatever its answer, and the charge path
  decides what a failure means (``payments.orders.services.charge``);
- TLS verified against the environment's CA bundle (Braintree's own), or the system's; the SDK's
  Development environment alone is unverified, as the SDK does;
- a proxy from the environment (``https_proxy``, ``no_proxy``...) is honoured, read once when the
  gateway client is built instead of on every call;
- connections idle past ``Configuration.max_connection_idle_seconds`` (60 s, as the SDK) are
  dropped before the next request, so a connection the far end may have closed is not reused;
- transport errors are raised as the SDK's own exceptions (``braintree.exceptions.http``), so
  `payments.gateways.braintree` maps them exactly as it maps the SDK's.

Multipart uploads (the SDK's document upload, unused here) go through the SDK's own strategy.
"""

import threading
import time

import urllib3
from requests.utils import get_encoding_from_headers, get_environ_proxies, select_proxy
from braintree.environment import Environment
from braintree.exceptions.http.connection_error import ConnectionError as SdkConnectionError
from braintree.exceptions.http.invalid_response_error import InvalidResponseError
from braintree.exceptions.http.timeout_error import ConnectTimeoutError, ReadTimeoutError
from braintree.exceptions.http.timeout_error import TimeoutError as SdkTimeoutError
from braintree.exceptions.unexpected_error import UnexpectedError
from braintree.util.http import Http
from urllib3.exceptions import (
    ConnectTimeoutError as Urllib3ConnectTimeout,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError as Urllib3ReadTimeout,
    SSLError,
    TimeoutError as Urllib3Timeout,
)


def proxy_for(url):
    """The proxy URL the environment names for `url`, or None: requests' own rules (``no_proxy``
    honoured), the ones the SDK's transport applies on every call."""
    return select_proxy(url, get_environ_proxies(url))


class PooledHttp(Http):
    """A Braintree SDK ``http_strategy``: the SDK's requests, sent over one urllib3 pool."""

    def __init__(self, config, environment=None, *, max_connections=64):
        super().__init__(config, environment)
        self._timeout = urllib3.Timeout(connect=config.timeout, read=config.timeout)
        self._max_idle = config.max_connection_idle_seconds
        self._lock = threading.Lock()
        self._last_used = time.monotonic()
        self.pool = self._pool_manager(max_connections)

    def _pool_manager(self, max_connections):
        env = self.environment
        if env == Environment.Development:
            tls = {"cert_reqs": "CERT_NONE"}
        elif env.ssl_certificate:
            tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": env.ssl_certificate}
        else:
            tls = {"cert_reqs": "CERT_REQUIRED"}
        common = {"maxsize": max_connections, "block": False, "retries": False, "timeout": self._timeout, **tls}
        proxy = proxy_for(env.base_url)
        if proxy:
            return urllib3.ProxyManager(proxy, **common)
        return urllib3.PoolManager(**common)

    def _fresh_connections(self):
        """Drop the pool's idle connections if none was used for longer than the SDK's limit."""
        now = time.monotonic()
        with self._lock:
            idle, self._last_used = now - self._last_used, now
        if idle > self._max_idle:
            self.pool.clear()

    def http_do(self, http_verb, path, headers, request_body):
        if isinstance(request_body, tuple):
            return super().http_do(http_verb, path, headers, request_body)
        self._fresh_connections()
        # requests sends a GET's empty body as no body at all (no Content-Length): so do we.
        body = None if not request_body and http_verb in ("GET", "HEAD") else request_body
        response = self.pool.request(
            http_verb,
            path,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            timeout=self._timeout,
        )
        # The charset the answer names (requests' reading of it), else Braintree's UTF-8.
        charset = get_encoding_from_headers(response.headers) or "utf-8"
        return [response.status, response.data.decode(charset, errors="replace")]

    def handle_exception(self, exception):
        """Raise `exception` as the SDK raises its transport errors (``wrap_http_exceptions``)."""
        if not isinstance(exception, HTTPError):
            # Multipart went through requests: the SDK's own mapping.
            return super().handle_exception(exception)
        if isinstance(exception, (NewConnectionError, ProtocolError, ProxyError, SSLError)):
            # Before the timeouts: urllib3's NewConnectionError (refused, unresolvable) subclasses
            # its ConnectTimeoutError.
            raise SdkConnectionError(exception) from exception
        if isinstance(exception, Urllib3ConnectTimeout):
            raise ConnectTimeoutError(exception) from exception
        if isinstance(exception, Urllib3ReadTimeout):
            raise ReadTimeoutError(exception) from exception
        if isinstance(exception, Urllib3Timeout):
            raise SdkTimeoutError(exception) from exception
        if isinstance(exception, DecodeError):
            raise InvalidResponseError(exception) from exception
        raise UnexpectedError(exception) from exception

    def close(self):
        self.pool.clear()
        super().close()
