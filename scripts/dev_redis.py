"""Make sure the broker of `make run` answers: use the Redis at CELERY_BROKER_URL, or start one.

    python scripts/dev_redis.py ensure   # exit 0 once Redis answers, 1 with a one-line reason
    python scripts/dev_redis.py stop     # stop the redis-server that `ensure` started, if any

A Redis started here is a throwaway for development: no persistence, bound to loopback, its
pidfile and log under .run/ in the project. A Redis that was already running is never touched.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
DEFAULT_URL = "redis://127.0.0.1:6379/0"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError):
        return False


def pidfile(port):
    return RUN_DIR / f"redis-{port}.pid"


def ensure(url):
    if answers(url):
        print(f"Redis: using {url}")
        return 0
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if parts.scheme != "redis" or host not in LOCAL_HOSTS:
        print(f"Redis at {url} does not answer; start it or point CELERY_BROKER_URL at one that does.")
        return 1
    server = shutil.which("redis-server")
    if server is None:
        print(
            f"No Redis answers at {url} and redis-server is not installed: "
            "`sudo apt-get install redis-server` or `brew install redis`, or set CELERY_BROKER_URL."
        )
        return 1
    RUN_DIR.mkdir(exist_ok=True)
    (RUN_DIR / ".gitignore").write_text("*\n")
    subprocess.run(
        [
            server,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(pidfile(port)),
            "--logfile", str(RUN_DIR / f"redis-{port}.log"),
            "--dir", str(RUN_DIR),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if answers(url):
            print(f"Redis: started redis-server on 127.0.0.1:{port} (stopped when `make run` exits)")
            return 0
        time.sleep(0.1)
    print(f"Started redis-server on port {port} but it does not answer; see {RUN_DIR}/redis-{port}.log")
    return 1


def stop(url):
    port = urlsplit(url).port or 6379
    path = pidfile(port)
    if not path.exists():
        return 0
    try:
        os.kill(int(path.read_text().strip()), 15)
        print(f"Redis: stopped the redis-server on port {port}")
    except (ProcessLookupError, ValueError):
        pass
    path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "ensure"
    broker_url = os.environ.get("CELERY_BROKER_URL") or DEFAULT_URL
    sys.exit({"ensure": ensure, "stop": stop}[command](broker_url))
