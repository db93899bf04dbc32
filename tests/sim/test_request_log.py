"""The simulator's request log: one INFO line per request, with status, latency and faults."""

import logging
import re

from tests.sim.helpers import Control, sale, sdk_gateway

LINE = re.compile(
    r"request method=(?P<method>\S+) path=(?P<path>\S+) status=(?P<status>\S+) "
    r"latency_ms=(?P<latency>[0-9.]+) fault=(?P<fault>\S+)"
)


def request_lines(caplog):
    return [LINE.fullmatch(r.getMessage()) for r in caplog.records if r.name == "braintree_sim.server"]


def test_every_request_is_logged_once_with_its_status_and_latency(make_sim, caplog):
    # given a simulator started as `--verbose` does
    server = make_sim(quiet=False)
    caplog.set_level(logging.INFO, logger="braintree_sim.server")

    # when the SDK sells once
    result = sale(sdk_gateway(server.url), nonce="fake-valid-nonce")

    # then one line says what was asked and answered, and the nonce is not in it
    assert result.is_success
    [line] = request_lines(caplog)
    assert line is not None
    assert (line["method"], line["status"], line["fault"]) == ("POST", "201", "none")
    assert line["path"].endswith("/transactions")
    assert float(line["latency"]) >= 0
    assert "fake-valid-nonce" not in caplog.text


def test_an_injected_fault_is_named_in_the_line(make_sim, caplog):
    # given a simulator answering every sale 503
    server = make_sim(quiet=False)
    Control(server.url).set_faults({"kind": "error", "status": 503, "methods": ["POST"], "paths": ["/transactions"]})
    caplog.set_level(logging.INFO, logger="braintree_sim.server")
    caplog.clear()

    # when
    try:
        sale(sdk_gateway(server.url))
    except Exception:  # the SDK raises for a 503; the log is what this test is about
        pass

    # then
    lines = [line for line in request_lines(caplog) if line and line["path"].endswith("/transactions")]
    assert lines and all((line["status"], line["fault"]) == ("503", "error") for line in lines)


def test_a_quiet_simulator_logs_no_requests(sim, caplog):
    # given the default (quiet) in-process simulator
    caplog.set_level(logging.INFO, logger="braintree_sim.server")
    # when
    sale(sdk_gateway(sim.url))
    # then
    assert request_lines(caplog) == []
