"""The RabbitMQ block of the settings: taken for amqp:// URLs only, with the Celery docs' settings."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DUMP = """
import json, django
django.setup()
from celery_app import app
c = app.conf
print(json.dumps({
    "queues": {q.name: [q.exchange.type, q.queue_arguments] for q in (c.task_queues or [])},
    "transport": c.broker_transport_options, "routes": c.task_routes,
    "default_queue_type": c.task_default_queue_type, "missing_type": c.task_create_missing_queue_type,
    "delayed_type": c.broker_native_delayed_delivery_queue_type, "detect": c.worker_detect_quorum_queues,
    "prefetch": c.worker_prefetch_multiplier, "acks_late": c.task_acks_late,
}))
"""


def celery_conf(broker_url):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "CELERY_BROKER_URL": broker_url}
    out = subprocess.run([sys.executable, "-c", DUMP], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_amqp_url_gets_quorum_queues_on_topic_exchanges_with_dead_lettering():
    conf = celery_conf("amqp://guest:guest@127.0.0.1:5672/x")
    assert set(conf["queues"]) == {"payments", "default", "maintenance"}
    for name, (exchange_type, arguments) in conf["queues"].items():
        assert exchange_type == "topic"
        assert arguments["x-queue-type"] == "quorum"
        assert arguments["x-dead-letter-exchange"] == "dead_letter"
        assert arguments["x-delivery-limit"] == 20
    assert conf["default_queue_type"] == conf["missing_type"] == conf["delayed_type"] == "quorum"
    assert conf["detect"] is True
    assert conf["transport"]["confirm_publish"] is True
    assert "visibility_timeout" not in conf["transport"]
    assert all(route["confirm_timeout"] == 5.0 for route in conf["routes"].values())
    assert conf["prefetch"] == 1 and conf["acks_late"] is True


def test_redis_url_keeps_the_redis_settings():
    conf = celery_conf("redis://127.0.0.1:6379/6")
    assert conf["queues"] == {}
    assert "visibility_timeout" in conf["transport"]
    assert all("confirm_timeout" not in route for route in conf["routes"].values())
