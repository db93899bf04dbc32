"""deploy/k8s: the manifests parse, and the supervision they promise is really configured."""

import ipaddress
import subprocess
from pathlib import Path

import yaml
from django.conf import settings

from tests.tools import require_program

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
LIVENESS_COMMAND = ["python", "-m", "payments.ops.liveness"]


def documents():
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend((path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def of_kind(kind):
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def config():
    return of_kind("ConfigMap")["payments-config"]["data"]


def container(deployment):
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


def workers():
    return {name: d for name, d in of_kind("Deployment").items() if "worker" in container(d)["command"]}


def test_every_manifest_parses_and_names_its_kind():
    docs = documents()
    assert docs
    for filename, doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), filename
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"], filename


def test_the_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_every_deployment_selects_its_own_pods_and_reads_settings_from_config_and_secret():
    for name, deployment in of_kind("Deployment").items():
        spec = deployment["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(), name
        sources = {next(iter(s)): next(iter(s.values()))["name"] for s in container(deployment)["envFrom"]}
        assert sources == {"configMapRef": "payments-config", "secretRef": "payments-secrets"}, name


def test_workers_are_probed_with_the_liveness_check_on_a_mounted_heartbeat():
    heartbeat = Path(config()["PAYMENTS_WORKER_HEARTBEAT_FILE"])
    assert {"payments-worker", "payments-default-worker"} <= workers().keys()
    for name, deployment in workers().items():
        worker = container(deployment)
        for probe in ("livenessProbe", "startupProbe"):
            assert worker[probe]["exec"]["command"] == LIVENESS_COMMAND, (name, probe)
        mounts = {Path(m["mountPath"]) for m in worker["volumeMounts"]}
        assert heartbeat.parent in mounts, name


def test_the_heartbeat_is_refreshed_well_within_its_max_age():
    data = config()
    assert float(data["PAYMENTS_WORKER_HEARTBEAT_INTERVAL"]) * 3 <= float(data["PAYMENTS_WORKER_HEARTBEAT_MAX_AGE"])


def test_workers_get_a_grace_period_above_the_task_time_limit_plus_the_soft_shutdown():
    data = config()
    needed = float(data["CELERY_TASK_TIME_LIMIT"]) + float(data["CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"])
    for name, deployment in workers().items():
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > needed, name


def test_every_routed_queue_is_consumed_by_a_worker_deployment():
    consumed = set()
    for deployment in workers().values():
        command = container(deployment)["command"]
        consumed.update(command[command.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= consumed


def test_the_web_is_ready_only_when_healthz_answers_for_an_allowed_https_host():
    web = container(of_kind("Deployment")["payments-web"])
    probe = web["readinessProbe"]["httpGet"]
    headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
    assert probe["path"] == "/healthz"
    assert headers["Host"] in config()["DJANGO_ALLOWED_HOSTS"].split(",")
    # production redirects plain HTTP to HTTPS, and a redirect would count as ready
    assert headers["X-Forwarded-Proto"] == "https"
    assert "livenessProbe" in web


def test_exactly_one_beat_runs_and_a_rollout_never_starts_a_second():
    beats = {name: d for name, d in of_kind("Deployment").items() if "beat" in container(d)["command"]}
    [(name, beat)] = beats.items()
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_kubectl_renders_the_kustomization():
    kubectl = require_program("kubectl", "apt-get install kubectl (or kubernetes-client)")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("Deployment") == 4 and "Service" in kinds and "ConfigMap" in kinds


def test_only_the_ingress_and_prometheus_may_reach_the_web_pods():
    # given
    [policy] = of_kind("NetworkPolicy").values()
    web = of_kind("Deployment")["payments-web"]
    # then the policy selects the web pods, restricts what comes in, and lets in two peers only
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
    assert spec["policyTypes"] == ["Ingress"]
    peers = [rule["from"] for rule in spec["ingress"]]
    namespaces = sorted(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for [p] in peers)
    assert namespaces == ["ingress-nginx", "monitoring"]
    assert all("podSelector" in p for [p] in peers)  # not every pod of those namespaces
    web_ports = {port["name"] for port in container(web)["ports"]}
    assert all({port["port"] for port in rule["ports"]} <= web_ports for rule in spec["ingress"])


def test_the_trusted_proxies_are_a_network_and_the_secrets_are_not_in_the_config_map():
    data = config()
    assert ipaddress.ip_network(data["TRUSTED_PROXIES"]).prefixlen >= 8
    assert not {"METRICS_TOKEN", "DJANGO_SECRET_KEY", "BRAINTREE_PRIVATE_KEY"} & data.keys()


def test_every_worker_pod_exposes_its_own_metrics_port_for_prometheus():
    port = int(config()["PAYMENTS_WORKER_METRICS_PORT"])
    for name, deployment in workers().items():
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert int(annotations["prometheus.io/port"]) == port and annotations["prometheus.io/path"] == "/metrics"
        assert {"name": "metrics", "containerPort": port} in container(deployment)["ports"], name


def test_a_prefork_worker_adds_up_its_pool_in_a_directory_of_its_pod():
    worker = container(of_kind("Deployment")["payments-default-worker"])
    env = {item["name"]: item["value"] for item in worker.get("env", [])}
    mounts = {m["mountPath"] for m in worker["volumeMounts"]}
    assert any(env["PROMETHEUS_MULTIPROC_DIR"].startswith(mount + "/") for mount in mounts)
    assert "PROMETHEUS_MULTIPROC_DIR" not in config()
