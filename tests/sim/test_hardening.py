"""Control token, request body limit, socket timeouts, bounded connections and safe XML."""

import socket
import time

import braintree
import pytest
import requests

from tests.sim.helpers import Control, sale, sdk_gateway

TOKEN = "s3cret-control-token"
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<transaction><amount>&lol3;</amount></transaction>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<transaction><order_id>&xxe;</order_id></transaction>"
)

# Harmless in itself, but the SDK never sends a DTD and refusing every DTD is what keeps entity
# tricks out; the standard library alone would accept this one.
PLAIN_DTD = (b'<!DOCTYPE transaction><transaction><amount>10.00</amount>'
             b'<payment_method_nonce>fake-valid-nonce</payment_method_nonce></transaction>')


def _raw(url, method, path, body=b"", headers=None):
    session = requests.Session()
    session.trust_env = False
    return session.request(method, url + path, data=body, headers=headers or {}, timeout=5)


@pytest.fixture
def guarded(make_sim):
    return make_sim(control_token=TOKEN)


@pytest.mark.parametrize("method, path", [
    ("GET", "/__sim__/transactions"),
    ("POST", "/__sim__/reset"),
    ("POST", "/__sim__/faults"),
    ("POST", "/__sim__/disputes"),
    ("GET", "/__sim__/webhooks"),
])
def test_control_routes_without_the_token_answer_401(guarded, method, path):
    # when
    missing = _raw(guarded.url, method, path)
    wrong = _raw(guarded.url, method, path, headers={"Authorization": "Bearer nope"})
    basic = _raw(guarded.url, method, path, headers={"Authorization": f"Basic {TOKEN}"})

    # then
    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)


def test_control_routes_with_the_token_work_and_health_stays_open(guarded):
    # given
    sale(sdk_gateway(guarded.url), order_id="guarded")

    # when
    rows = Control(guarded.url, token=TOKEN).ledger(order_id="guarded")
    health = _raw(guarded.url, "GET", "/__sim__/health")

    # then
    assert len(rows) == 1
    assert health.status_code == 200


def test_unauthorised_reset_changes_nothing(guarded):
    # given
    sale(sdk_gateway(guarded.url))

    # when
    _raw(guarded.url, "POST", "/__sim__/reset")

    # then
    assert len(Control(guarded.url, token=TOKEN).ledger()) == 1


def test_control_routes_are_open_without_a_configured_token(control):
    # when / then
    assert control.ledger() == []


@pytest.mark.parametrize("path", ["/merchants/sim_merchant/transactions", "/__sim__/nonces"])
def test_body_over_the_limit_answers_413_and_the_server_keeps_serving(make_sim, path):
    # given
    sim = make_sim(max_body_bytes=1000)

    # when
    response = _raw(sim.url, "POST", path, body=b"<transaction>" + b"x" * 2000)

    # then
    assert response.status_code == 413
    assert sale(sdk_gateway(sim.url)).is_success
    assert Control(sim.url).ledger()[0]["status"] == "authorized"


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DTD])
def test_xml_with_a_dtd_or_entities_is_refused_with_400_and_nothing_recorded(
        sim, control, gateway, body):
    # when
    response = _raw(sim.url, "POST", "/merchants/sim_merchant/transactions", body=body,
                    headers={"Authorization": sim.expected_auth,
                             "Content-Type": "application/xml"})

    # then
    assert response.status_code == 400
    assert control.ledger() == []
    assert sale(gateway).is_success


def test_a_client_that_stalls_mid_request_is_disconnected_after_the_socket_timeout(make_sim):
    # given
    sim = make_sim(socket_timeout=0.3)
    host, port = sim.server_address[:2]

    with socket.create_connection((host, port), timeout=5) as stalled:
        stalled.sendall(b"POST /merchants/sim_merchant/transactions HTTP/1.1\r\nContent-")
        started = time.monotonic()

        # when
        closed = stalled.recv(1024)

    # then
    assert closed == b""
    assert time.monotonic() - started < 3


def test_connections_beyond_the_limit_wait_for_a_free_slot(make_sim):
    # given
    sim = make_sim(max_connections=1, socket_timeout=30)
    host, port = sim.server_address[:2]
    idle = socket.create_connection((host, port), timeout=5)
    idle.sendall(b"GET /__sim__/health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200" in idle.recv(4096)  # the keep-alive connection now holds the only slot

    # when
    with pytest.raises(braintree.exceptions.http.timeout_error.ReadTimeoutError):
        sale(sdk_gateway(sim.url, timeout=0.5))
    idle.close()

    # then
    assert sale(sdk_gateway(sim.url, timeout=5)).is_success
