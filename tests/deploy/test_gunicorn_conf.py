"""gunicorn.conf.py: the measured worker class and count, and the multiprocess metrics hook."""

import os
import runpy
from types import SimpleNamespace

from devtools.stack import REPO_ROOT

CONF = str(REPO_ROOT / "gunicorn.conf.py")


def load_conf(monkeypatch, **variables):
    for name in ("WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(CONF)


def test_web_runs_two_sync_workers_per_core_by_default(monkeypatch):
    # given no WEB_CONCURRENCY, when gunicorn reads its settings
    conf = load_conf(monkeypatch)

    # then it runs the measured choice
    assert conf["worker_class"] == "sync"
    assert conf["workers"] == 2 * os.cpu_count()


def test_web_concurrency_sets_the_worker_count(monkeypatch):
    # given WEB_CONCURRENCY, which this file's own value would otherwise shadow
    conf = load_conf(monkeypatch, WEB_CONCURRENCY="3")

    # then it is the count
    assert conf["workers"] == 3


def test_a_dead_workers_live_gauges_are_dropped(monkeypatch, tmp_path):
    # given multiprocess metrics, with a live gauge file of a worker and one of another process
    conf = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_4343.db").write_bytes(b"")

    # when gunicorn reports that the worker exited
    conf["child_exit"](server=None, worker=SimpleNamespace(pid=4242))

    # then only its files are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gauge_livesum_4343.db"]
