"""payments/ops/worker_metrics.py without a worker: the port it picks and who may scrape it."""

import pytest

from payments.ops.worker_metrics import metrics_app, metrics_port


def test_no_port_means_no_endpoint():
    assert metrics_port({}) is None
    assert metrics_port({"PAYMENTS_WORKER_METRICS_PORT": " "}) is None


def test_the_offset_gives_each_systemd_instance_its_own_port():
    # given payments-worker@1 and @2 with one base port in the shared environment file
    base = {"PAYMENTS_WORKER_METRICS_PORT": "9800"}
    # when / then
    assert metrics_port(base) == 9800
    assert metrics_port({**base, "PAYMENTS_WORKER_METRICS_PORT_OFFSET": "1"}) == 9801
    assert metrics_port({**base, "PAYMENTS_WORKER_METRICS_PORT_OFFSET": "2"}) == 9802


def test_a_port_out_of_range_refuses_to_start():
    with pytest.raises(ValueError):
        metrics_port({"PAYMENTS_WORKER_METRICS_PORT": "65535", "PAYMENTS_WORKER_METRICS_PORT_OFFSET": "1"})


def scrape(app, path="/metrics", method="GET", remote="127.0.0.1", authorization=None):
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "REMOTE_ADDR": remote}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


def test_without_a_token_only_loopback_clients_may_scrape():
    app = metrics_app(token="")
    assert scrape(app)[0] == 200
    assert scrape(app, remote="10.0.0.7")[0] == 403


def test_with_a_token_a_scrape_needs_it():
    # given
    app = metrics_app(token="t" * 32)
    # when / then
    assert scrape(app, remote="10.0.0.7")[0] == 401
    assert scrape(app, remote="10.0.0.7", authorization="Bearer wrong")[0] == 403
    status, headers, body = scrape(app, remote="10.0.0.7", authorization=f"Bearer {'t' * 32}")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"# HELP" in body


def test_only_get_metrics_is_served():
    app = metrics_app(token="")
    assert scrape(app, path="/")[0] == 404
    assert scrape(app, method="POST")[0] == 405
