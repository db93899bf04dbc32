"""deploy/systemd: restart policies, warm shutdown, the liveness timer, and `systemd-analyze verify`."""

import re
import shlex
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings

from tests.tools import require_program

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
INSTALL_ROOT = "/srv/payments"
# Each worker's unit file and the name of one running instance (what the liveness template's %i
# receives): the payments worker is a template, one instance per core.
WORKERS = {"payments-worker@.service": "payments-worker@1", "payments-default-worker.service": "payments-default-worker"}
SERVICES = ("payments-web.service", *WORKERS, "payments-beat.service")


def unit(name):
    """Sections of a unit file as {section: {key: [values]}} (keys may repeat, e.g. Environment=)."""
    sections = defaultdict(lambda: defaultdict(list))
    section = None
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[section][key].append(value)
    return sections


def one(sections, section, key):
    [value] = sections[section][key]
    return value


def seconds(value):
    match = re.fullmatch(r"(\d+)(s?)", value)
    assert match, f"{value!r}: plain seconds expected"
    return int(match.group(1))


def environment(sections):
    return dict(item.split("=", 1) for item in sections["Service"]["Environment"])


def expand(value, instance):
    """`value` with the specifiers systemd fills in for unit `instance` (%N its name, %i the part after @)."""
    return value.replace("%N", instance).replace("%i", instance.partition("@")[2])


@pytest.mark.parametrize("name", SERVICES)
def test_every_process_restarts_always_and_stops_with_sigterm(name):
    service = unit(name)
    assert one(service, "Service", "Restart") == "always"
    assert seconds(one(service, "Service", "RestartSec")) > 0
    assert one(service, "Service", "KillSignal") == "SIGTERM"
    # without this a crash loop ends in a unit that systemd no longer restarts
    assert one(service, "Unit", "StartLimitIntervalSec") == "0"
    assert one(service, "Install", "WantedBy") == "multi-user.target"
    assert environment(service)["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize("name", WORKERS)
def test_workers_stop_warm_within_a_timeout_above_the_task_time_limit(name):
    service = unit(name)
    # SIGTERM to the main process only: pool processes killed by systemd would lose their tasks
    assert one(service, "Service", "KillMode") == "mixed"
    needed = settings.CELERY_TASK_TIME_LIMIT + settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT
    assert seconds(one(service, "Service", "TimeoutStopSec")) > needed


@pytest.mark.parametrize("name", WORKERS)
def test_workers_write_the_heartbeat_the_liveness_timer_checks(name):
    service, instance = unit(name), WORKERS[name]
    heartbeat = expand(environment(service)["PAYMENTS_WORKER_HEARTBEAT_FILE"], instance)
    runtime_dir = expand(one(service, "Service", "RuntimeDirectory"), instance)
    assert runtime_dir == instance
    assert heartbeat == f"/run/{runtime_dir}/heartbeat"
    assert f"/usr/bin/touch {heartbeat}" in [expand(line, instance) for line in service["Service"]["ExecStartPre"]]
    assert f"payments-liveness@{instance}.timer" in expand(one(service, "Unit", "Wants"), instance).split()
    check = unit("payments-liveness@.service")
    # the liveness template's %i is the worker instance's unit name
    assert heartbeat == "/run/%i/heartbeat".replace("%i", instance)
    assert "-m payments.ops.liveness --heartbeat /run/%i/heartbeat" in one(check, "Service", "ExecStart")


def test_payments_worker_instances_on_one_host_have_their_own_node_name_and_heartbeat():
    service = unit("payments-worker@.service")
    starts = [expand(one(service, "Service", "ExecStart"), f"payments-worker@{n}") for n in (1, 2)]
    nodes = [shlex.split(start)[shlex.split(start).index("-n") + 1] for start in starts]
    heartbeats = [expand(environment(service)["PAYMENTS_WORKER_HEARTBEAT_FILE"], f"payments-worker@{n}")
                  for n in (1, 2)]
    # Celery refuses two workers with one node name (and mingle would confuse them)
    assert nodes == ["payments1@%H", "payments2@%H"]
    assert heartbeats == ["/run/payments-worker@1/heartbeat", "/run/payments-worker@2/heartbeat"]


def test_a_failed_liveness_check_restarts_the_worker_and_nothing_else_runs_as_root():
    check = unit("payments-liveness@.service")
    assert one(check, "Service", "User") == "payments"
    restart = one(check, "Service", "ExecStopPost")
    assert restart.startswith("+")
    assert '"$$SERVICE_RESULT" = exit-code' in restart and '"$$EXIT_STATUS" = 1' in restart
    assert "systemctl restart %i.service" in restart


def test_the_liveness_check_runs_often_and_only_for_a_running_worker():
    check = unit("payments-liveness@.service")
    assert one(check, "Service", "Type") == "oneshot"
    assert "is-active" in one(check, "Service", "ExecCondition")
    timer = unit("payments-liveness@.timer")
    assert seconds(one(timer, "Timer", "OnUnitActiveSec")) <= 15
    assert one(timer, "Unit", "PartOf") == "%i.service"


def test_exactly_one_beat_unit_exists():
    beats = [path.name for path in UNITS.glob("*.service") if " beat " in path.read_text()]
    assert beats == ["payments-beat.service"]


def test_systemd_analyze_verifies_every_unit(tmp_path):
    analyze = require_program("systemd-analyze", "apt-get install systemd")
    # verify checks that every ExecStart binary exists: point the install root at this checkout.
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALL_ROOT, str(REPO)))
    instances = list(WORKERS.values()) + ["payments-worker@2"]
    names = ["payments-web.service", "payments-beat.service", *(f"{i}.service" for i in instances)]
    names += [f"payments-liveness@{i}.service" for i in instances] + [f"payments-liveness@{i}.timer" for i in instances]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"SYSTEMD_UNIT_PATH": f"{tmp_path}:", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("service_result", "exit_status", "restarts"),
    [("exit-code", "1", True), ("exit-code", "2", False), ("exec-condition", "1", False), ("success", "0", False)],
)
def test_only_a_not_live_answer_makes_the_stop_hook_restart_the_worker(tmp_path, service_result, exit_status, restarts):
    # given: the hook as systemd would run it ($$ is systemd's escape for $), a recording systemctl
    hook = one(unit("payments-liveness@.service"), "Service", "ExecStopPost")
    argv = shlex.split(hook.lstrip("+").replace("$$", "$").replace("%i", "payments-worker@1"))
    calls = tmp_path / "calls"
    fake = tmp_path / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "SERVICE_RESULT": service_result, "EXIT_STATUS": exit_status}
    # when
    subprocess.run(argv, env=env, check=True, timeout=10)
    # then
    assert (calls.read_text() if calls.exists() else "") == ("restart payments-worker@1.service\n" if restarts else "")


def test_each_worker_instance_serves_its_metrics_on_a_port_of_its_own():
    # given the payments worker's instances on one host and the default worker
    template, default = unit("payments-worker@.service"), unit("payments-default-worker.service")
    ports = []
    for n in (1, 2):
        env = {key: expand(value, f"payments-worker@{n}") for key, value in environment(template).items()}
        ports.append(int(env["PAYMENTS_WORKER_METRICS_PORT"]) + int(env["PAYMENTS_WORKER_METRICS_PORT_OFFSET"]))
    ports.append(int(environment(default)["PAYMENTS_WORKER_METRICS_PORT"]))
    # then no two share a port
    assert len(set(ports)) == 3, ports


def test_no_worker_shares_a_multiprocess_directory_with_the_web():
    # the threads worker is one process: its own registry; the prefork worker: a directory of its own
    start = one(unit("payments-worker@.service"), "Service", "ExecStart")
    assert start.startswith("/usr/bin/env -u PROMETHEUS_MULTIPROC_DIR ")
    default = shlex.split(one(unit("payments-default-worker.service"), "Service", "ExecStart"))
    assert "PROMETHEUS_MULTIPROC_DIR=/run/payments-default-worker/prometheus" in default
    assert one(unit("payments-default-worker.service"), "Service", "RuntimeDirectory") == "payments-default-worker"
