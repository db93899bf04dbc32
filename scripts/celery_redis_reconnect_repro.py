"""Does this Celery survive a lost Redis connection while it holds unacknowledged messages?

Celery is pinned to 5.6.3 because 5.7.0's worker exits when its Redis broker goes away while a
task with `acks_late` is running (docs/decisions/0004-celery-5-6-3-pin.md): on reconnect it closes
the lost connection twice and dies with `AttributeError: 'NoneType' object has no attribute
'hostname'`. This script shows that in about 20 seconds, with nothing of the project: a private
`redis-server` on a free port (never the machine's own), a one-task Celery app written to a
temporary directory, and one worker. It starts a slow task (unacknowledged, acks_late), kills
Redis and starts it again empty on the same port, then sends a second task.

    python scripts/celery_redis_reconnect_repro.py                  # the Celery of this interpreter
    /tmp/venv/bin/python scripts/celery_redis_reconnect_repro.py    # another one, e.g. a 5.7.x

Exit status 0: the worker survived and ran the task sent after the restart (the upgrade is not
blocked by this bug). 1: the worker exited, or stopped consuming; the tail of its log is printed.
2: the script could not set the scene (no redis-server, the worker did not start).
Needs `redis-server` on PATH and Celery with its Redis extra in the interpreter that runs it.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = '''
import os, time
from celery import Celery

app = Celery("repro", broker=os.environ["REPRO_BROKER_URL"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    worker_cancel_long_running_tasks_on_connection_loss=False,
    worker_hijack_root_logger=True,
)

@app.task
def work(name, seconds):
    print(f"REPRO started {name}", flush=True)
    time.sleep(seconds)
    print(f"REPRO finished {name}", flush=True)
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port, workdir):
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def wait_for(path, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def main():
    import celery
    import kombu

    print(f"python {sys.version.split()[0]}, celery {celery.__version__}, kombu {kombu.__version__}")
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="celery-reconnect-repro-"))
    (workdir / "repro_app.py").write_text(APP)
    port = free_port()
    env = {**os.environ, "REPRO_BROKER_URL": f"redis://127.0.0.1:{port}/0", "PYTHONPATH": str(workdir)}
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        env.pop(variable, None)
    log = workdir / "worker.log"
    redis = start_redis(port, workdir)
    worker = None
    try:
        with open(log, "w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "repro_app", "worker", "-P", "threads", "-c", "2",
                 "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        if not wait_for(log, "ready.", 60):
            print("the worker did not start:\n" + log.read_text()[-3000:])
            return 2

        def send(name, seconds):
            subprocess.run([sys.executable, "-c", f"import repro_app; repro_app.work.delay({name!r}, {seconds})"],
                           cwd=workdir, env=env, check=True, timeout=30)

        send("before", 8)
        if not wait_for(log, "REPRO started before", 30):
            print("the first task never started:\n" + log.read_text()[-3000:])
            return 2
        print("a task is running, unacknowledged: killing redis-server and starting it again, empty")
        os.killpg(redis.pid, signal.SIGKILL)
        redis.wait()
        time.sleep(1)
        redis = start_redis(port, workdir)
        time.sleep(3)
        send("after", 0)
        survived = wait_for(log, "REPRO finished after", 30) and worker.poll() is None
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        if survived:
            print("SURVIVED: the worker reconnected and ran the task sent after the restart")
            return 0
        state = f"exited with {worker.poll()}" if worker.poll() is not None else "alive but not consuming"
        print(f"FAILED: the worker {state} after the broker restart. Its log ends with:\n{tail}")
        return 1
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        os.killpg(redis.pid, signal.SIGKILL)
        redis.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
