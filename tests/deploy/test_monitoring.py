"""deploy/prometheus/alerts.yml and deploy/grafana/payments.json: structure, metric names, PromQL.

The metric names are fixed by issue 13; an expression over any other name would watch nothing.
promtool (Debian package `prometheus`) checks syntax and runs the alert unit tests when installed;
the parser checks here run everywhere.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.tools import require_program

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
DASHBOARD = DEPLOY / "grafana" / "payments.json"

ISSUE_METRICS = {
    "payments_orders",
    "payments_oldest_pending_order_age_seconds",
    "payments_orders_needs_review",
    "payments_order_time_to_final_seconds",
    "payments_gateway_requests_total",
    "payments_gateway_request_duration_seconds",
    "payments_task_retries_total",
    "payments_reconciler_last_run_timestamp_seconds",
    "payments_reconciled_orders_total",
}
HISTOGRAMS = {"payments_order_time_to_final_seconds", "payments_gateway_request_duration_seconds"}
# Prometheus' own series per target: whether each worker's /metrics answered its last scrape.
TARGET_UP = "up"
ALLOWED_SERIES = (ISSUE_METRICS | {TARGET_UP}
                  | {f"{h}_{suffix}" for h in HISTOGRAMS for suffix in ("bucket", "sum", "count")})
PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                   "offset", "bool", "inf", "nan"}
ALERTS_REQUIRED = {"PaymentsOrdersStuck", "PaymentsNeedsReviewRising", "PaymentsReconcilerStale",
                   "PaymentsGatewayErrorRate", "PaymentsWorkerNotReporting", "PaymentsNoWorkerReporting"}


def metric_names(expr):
    """The series names an expression selects (a small lexer, enough for these files)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group()
        is_call = re.match(r"\s*\(", text[match.end():])
        if not is_call and name.lower() not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def alert_rules():
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs():
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_metric_lexer_finds_names_and_ignores_labels_functions_and_ranges():
    expr = 'sum by (call) (rate(payments_gateway_requests_total{outcome!="ok"}[5m])) / on(call) other_metric > 0.05'
    assert metric_names(expr) == {"payments_gateway_requests_total", "other_metric"}
    assert metric_names("time() - max(payments_reconciler_last_run_timestamp_seconds) > 300") == {
        "payments_reconciler_last_run_timestamp_seconds"}
    assert metric_names("delta(max(x)[30m:1m]) > 0 and y") == {"x", "y"}


def test_every_required_alert_exists_with_a_severity_and_a_summary():
    rules = alert_rules()
    assert ALERTS_REQUIRED <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_every_expression_reads_only_metrics_named_in_the_issue(source):
    exprs = [rule["expr"] for rule in alert_rules()] if source == "alerts" else dashboard_exprs()
    assert exprs
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        assert names <= ALLOWED_SERIES, f"{sorted(names - ALLOWED_SERIES)} in {expr!r}"


def test_each_alert_watches_the_metric_the_issue_names_for_it():
    by_name = {rule["alert"]: metric_names(rule["expr"]) for rule in alert_rules()}
    assert by_name["PaymentsOrdersStuck"] == {"payments_oldest_pending_order_age_seconds"}
    assert by_name["PaymentsNeedsReviewRising"] == {"payments_orders_needs_review"}
    assert by_name["PaymentsReconcilerStale"] == {"payments_reconciler_last_run_timestamp_seconds"}
    assert by_name["PaymentsGatewayErrorRate"] == {"payments_gateway_requests_total"}
    gateway = next(r["expr"] for r in alert_rules() if r["alert"] == "PaymentsGatewayErrorRate")
    # A decline or a not-found is the gateway answering: only the outcomes payments/core/metrics.py
    # gives an unanswered or refused call count as failing.
    assert 'outcome=~"unavailable|misconfigured|error"' in gateway


def test_a_worker_host_that_stops_reporting_is_watched_by_its_own_target():
    by_name = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    for alert in ("PaymentsWorkerNotReporting", "PaymentsNoWorkerReporting"):
        assert metric_names(by_name[alert]) == {TARGET_UP}
        assert 'job="payments-worker"' in by_name[alert], alert
    assert any('up{job="payments-worker"}' in expr for expr in dashboard_exprs())


def test_the_dashboard_covers_every_issue_metric_with_unique_panel_ids():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    used = set().union(*(metric_names(expr) for expr in dashboard_exprs()))
    covered = {name for name in ISSUE_METRICS if any(series.startswith(name) for series in used)}
    assert covered == ISSUE_METRICS
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()


def run_promtool(*args):
    promtool = require_program("promtool", "apt-get install --no-install-recommends prometheus")
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_alert_rules():
    result = run_promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_show_each_alert_firing_and_staying_quiet():
    result = run_promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_every_dashboard_query(tmp_path):
    # promtool checks PromQL only inside rule files, so each query becomes a recording rule.
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(dashboard_exprs())]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
