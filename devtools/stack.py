"""Start and stop the real processes of the payments stack for tests and benchmarks.

Each class wraps one process (``Simulator``, ``Worker``, ``Beat``, ``WebServer``,
``RedisServer``): ``start()`` launches it in its own process group with stdout and stderr
appended to ``<run_dir>/<name>.log`` and blocks until it is ready (or raises ``StackError`` with
the tail of that log); ``stop()`` sends SIGTERM to the main process, waits, then SIGKILLs the
whole group so no pool child or gunicorn worker is left behind. Every class is a context
manager, so a test reads::

    from devtools.stack import Simulator, Worker, environment, make_run_dir

    run_dir = make_run_dir("my-test")
    with Simulator(run_dir=run_dir) as sim:
        env = environment(db_name="payments_x", broker_url="redis://127.0.0.1:6379/12",
                          simulator_url=sim.url)
        with Worker(env=env, run_dir=run_dir) as worker:
            ...  # worker.child_pids(), worker.kill_child(), worker.restart(), sim.transactions()

``environment()`` builds the child environment (settings module, database, broker, simulator
URL and keys, no HTTP proxy, unbuffered output); pass the same dict to every process of one
stack. Nothing here imports Django settings or pytest, and nothing touches the machine's shared
Redis or any database: callers choose the database name and broker URL (``RedisServer`` gives a
private broker that can be killed and restarted; ``devtools.db`` a private database). Logs stay in
``run_dir`` after teardown so failures can be diagnosed.
"""

from __future__ import annotations

import http.client
import itertools
import secrets
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from devtools.proxy import drop_proxy_variables
from devtools.sim import SIM_KEYS

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class StackError(RuntimeError):
    """A process did not start, did not become ready, or a control call failed."""


# --- small helpers -------------------------------------------------------------------------------


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (the usual bind-to-0 trick; races are rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def make_run_dir(prefix="stack", base=None):
    """A fresh directory for the logs, pidfiles and state files of one run."""
    if base is not None:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=base))


def tcp_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_request(method, url, body=None, headers=None, timeout=5.0):
    """One HTTP call without any proxy; returns (status, headers dict, decoded JSON or text).

    Raises OSError (ConnectionError, TimeoutError...) when the server cannot be reached.
    """
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    hdrs = dict(headers or {})
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=payload, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        resp_headers = {k.lower(): v for k, v in resp.getheaders()}
    except http.client.HTTPException as exc:
        raise ConnectionError(f"{method} {url}: {exc!r}") from exc
    finally:
        conn.close()
    text = raw.decode("utf-8", "replace")
    if "json" in resp_headers.get("content-type", ""):
        try:
            return resp.status, resp_headers, json.loads(text)
        except ValueError:
            pass
    return resp.status, resp_headers, text


def environment(
    *,
    db_name=None,
    database_url=None,
    broker_url=None,
    simulator_url=None,
    settings="config.settings.test",
    app_name=None,
    extra=None,
    base=None,
):
    """The environment for a stack process.

    `db_name` feeds TEST_DB_NAME (read by config.settings.test) and, unless given, DATABASE_URL
    (read by the other settings modules), both on the local PostgreSQL. `app_name` sets
    PGAPPNAME, so a harness can find this process's database sessions in pg_stat_activity.
    `extra` overrides anything (e.g. CELERY_VISIBILITY_TIMEOUT).
    """
    env = drop_proxy_variables(dict(os.environ if base is None else base))
    env["PYTHONUNBUFFERED"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = settings
    env["BRAINTREE_ENVIRONMENT"] = "simulator"
    for key, value in SIM_KEYS.items():
        env.setdefault(key, value)
    if db_name is not None:
        env["TEST_DB_NAME"] = db_name
        env["DATABASE_URL"] = database_url or f"postgres://postgres@127.0.0.1:5432/{db_name}"
    elif database_url is not None:
        env["DATABASE_URL"] = database_url
    if broker_url is not None:
        env["CELERY_BROKER_URL"] = broker_url
    if simulator_url is not None:
        env["BRAINTREE_SIMULATOR_URL"] = simulator_url
    if app_name is not None:
        env["PGAPPNAME"] = app_name
    # Make `import config`, `import celery_app` and `import braintree_sim` work from any cwd.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def child_pids(pid):
    """Direct children of `pid`, from /proc (psutil is not installed)."""
    pids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                pids.extend(int(p) for p in fh.read().split())
        except OSError:
            continue
    # A killed pool child stays a zombie until its parent reaps it; it is not a live child.
    return sorted(p for p in set(pids) if pid_alive(p))


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return None


def pid_alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# --- manage.py ----------------------------------------------------------------------------------


def manage(env, *argv, code=None, timeout=120, log_path=None):
    """Run `manage.py *argv` (with `-c code` for `shell`) in `env`; its stdout, or StackError."""
    cmd = [PYTHON, "manage.py", *argv] + (["-c", code] if code is not None else [])
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if log_path is not None:
        with open(log_path, "a") as log:
            log.write(f"$ manage.py {' '.join(argv)}\n{result.stdout}\n{result.stderr}\n")
    if result.returncode != 0:
        raise StackError(f"manage.py {' '.join(argv)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


# --- the process base class ----------------------------------------------------------------------

_names = itertools.count(1)


class ManagedProcess:
    """One child process in its own process group, logging to `<run_dir>/<name>.log`."""

    kind = "process"
    ready_timeout = 30.0
    stop_timeout = 10.0

    def __init__(self, *, name=None, env=None, run_dir=None, cwd=None):
        self.name = name or f"{self.kind}{next(_names)}"
        self.env = env if env is not None else environment()
        self.run_dir = Path(run_dir) if run_dir is not None else make_run_dir(self.kind)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.cwd = Path(cwd) if cwd is not None else REPO_ROOT
        self.log_path = self.run_dir / f"{self.name}.log"
        self.proc = None
        self.starts = 0
        self._log_offset = 0

    # Subclasses provide the command line and the readiness probe.
    def command(self):
        raise NotImplementedError

    def is_ready(self):
        return True

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True):
        if self.alive():
            raise StackError(f"{self.name} is already running (pid {self.pid})")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            log.write(f"\n=== start #{self.starts} at {time.strftime('%H:%M:%S')}: {' '.join(map(str, self.command()))}\n".encode())
            log.flush()
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(
                [str(c) for c in self.command()],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: teardown reaches every descendant
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=None):
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StackError(f"{self.name} exited with {self.proc.returncode} before it was ready:\n{self.tail()}")
            try:
                if self.is_ready():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise StackError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def signal(self, sig):
        """Send `sig` to the main process only."""
        if self.alive():
            os.kill(self.pid, sig)

    def signal_group(self, sig):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout):
        """Wait for the main process to exit; True if it did."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout=None):
        """SIGTERM the main process, wait up to `timeout` s, then SIGKILL the whole group."""
        if self.proc is None:
            return
        timeout = self.stop_timeout if timeout is None else timeout
        if self.alive():
            self.signal(signal.SIGTERM)
            self.wait(timeout)
        # Also reaps orphans (a pool child of a killed main, a gunicorn worker).
        self.signal_group(signal.SIGKILL)
        self.wait(5)

    def kill(self):
        """SIGKILL the main process only (its children may survive: see subclasses)."""
        self.signal(signal.SIGKILL)
        self.wait(5)

    def restart(self, wait=True):
        self.stop()
        return self.start(wait=wait)

    def log_text(self, since_start=False):
        try:
            with open(self.log_path, "rb") as fh:
                if since_start:
                    fh.seek(self._log_offset)
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self):
        if not self.alive():
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<{type(self).__name__} {self.name} pid={self.pid} alive={self.alive()}>"


# --- the processes -------------------------------------------------------------------------------


class Simulator(ManagedProcess):
    """`python -m braintree_sim` on a free port, with a SQLite state file in the run dir.

    Its `/__sim__/` control routes require a bearer token, as a shared machine's simulator should:
    one is generated per Simulator (or pass `control_token`; "" leaves the routes open) and sent
    on every control call. It reaches the process through BRAINTREE_SIM_CONTROL_TOKEN, not the
    command line, which `ps` shows to every user.
    """

    kind = "sim"
    CONTROL_TOKEN_VARIABLE = "BRAINTREE_SIM_CONTROL_TOKEN"

    def __init__(self, port=None, state_path=None, extra_args=(), host="127.0.0.1", control_token=None, **kwargs):
        kwargs.setdefault("env", environment())
        super().__init__(**kwargs)
        self.host = host
        self.port = port or free_port()
        self.state_path = Path(state_path) if state_path is not None else self.run_dir / f"{self.name}-state.sqlite"
        self.extra_args = tuple(extra_args)
        self.control_token = secrets.token_urlsafe(24) if control_token is None else control_token
        self.env = dict(self.env)
        if self.control_token:
            self.env[self.CONTROL_TOKEN_VARIABLE] = self.control_token
        else:
            self.env.pop(self.CONTROL_TOKEN_VARIABLE, None)

    @property
    def control_headers(self):
        """The Authorization header every `/__sim__/` call must carry (empty when the routes are open)."""
        return {"Authorization": f"Bearer {self.control_token}"} if self.control_token else {}

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def command(self):
        return [PYTHON, "-m", "braintree_sim", "--host", self.host, "--port", self.port,
                "--state", self.state_path, *self.extra_args]

    def is_ready(self):
        status, _, _ = http_request("GET", f"{self.url}/__sim__/health", timeout=1)
        # A 404 means an older simulator without the health route: it is answering, so ready.
        return status in (200, 404)

    def _control(self, method, path, body=None, timeout=10):
        status, _, data = http_request(
            method, f"{self.url}/__sim__/{path}", body=body, headers=self.control_headers, timeout=timeout
        )
        if status >= 400:
            raise StackError(f"{method} /__sim__/{path} answered {status}: {data}")
        return data

    def set_faults(self, rules):
        """Replace the fault rules (schema: braintree_sim/README.md); `{}` clears them."""
        return self._control("POST", "faults", rules)

    def faults(self):
        return self._control("GET", "faults")

    def transactions(self, order_id=None):
        """The ledger as a list of dicts (id, order_id, type, status, amount, ...)."""
        query = "?" + urlencode({"order_id": order_id}) if order_id is not None else ""
        data = self._control("GET", f"transactions{query}", timeout=30)
        if isinstance(data, dict):
            for key in ("transactions", "results", "items"):
                if isinstance(data.get(key), list):
                    return data[key]
        return data

    def reset(self):
        return self._control("POST", "reset", {})

    def mint_nonce(self, card=None):
        """A single-use nonce, as a client SDK's tokenize step would get (POST /__sim__/nonces)."""
        card = card or {"number": "4111111111111111", "expiration_date": "12/2030"}
        return self._control("POST", "nonces", card)["nonce"]


class Worker(ManagedProcess):
    """`celery -A celery_app worker` with readiness on its `ready.` log line."""

    kind = "worker"
    ready_timeout = 60.0
    # SIGTERM is a warm shutdown: in-flight tasks finish within the soft-shutdown timeout.
    stop_timeout = 30.0

    def __init__(self, queues="payments", concurrency=1, pool="prefork", loglevel="info",
                 extra_args=(), heartbeat=None, **kwargs):
        super().__init__(**kwargs)
        # The liveness heartbeat file its env names (PAYMENTS_WORKER_HEARTBEAT_FILE), if any.
        self.heartbeat = Path(heartbeat) if heartbeat is not None else None
        self.queues = queues
        self.concurrency = concurrency
        self.pool = pool
        self.loglevel = loglevel
        self.extra_args = tuple(extra_args)

    @property
    def nodename(self):
        return f"{self.name}@{socket.gethostname()}"

    def command(self):
        return [PYTHON, "-m", "celery", "-A", "celery_app", "worker", "-Q", self.queues,
                "-c", self.concurrency, "-P", self.pool, "-n", f"{self.name}@%h",
                "--without-gossip", "--without-mingle", "-l", self.loglevel,
                *self.extra_args]

    def start(self, wait=True):
        # A file a killed worker left behind would pass the probe before this one is up; systemd
        # empties the worker's RuntimeDirectory= on every stop for the same reason.
        if self.heartbeat is not None:
            self.heartbeat.unlink(missing_ok=True)
        return super().start(wait=wait)

    def is_ready(self):
        return f"{self.nodename} ready." in self.log_text(since_start=True)

    def ping(self, timeout=5):
        """`celery inspect ping` against this node (slower than the log line; for diagnosis)."""
        result = subprocess.run(
            [PYTHON, "-m", "celery", "-A", "celery_app", "inspect", "ping", "-d", self.nodename,
             "--timeout", str(timeout)],
            cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout + 20,
        )
        return result.returncode == 0 and "pong" in result.stdout

    def child_pids(self):
        """Pids of the pool processes (prefork) right now."""
        return child_pids(self.pid) if self.alive() else []

    def pool_pids(self):
        """The prefork pool processes only: children forked from the main process (same command
        line), not a helper it runs while starting (the platform module's `uname`)."""
        if not self.alive():
            return []
        main = _cmdline(self.pid)
        return [pid for pid in self.child_pids() if _cmdline(pid) == main]

    def kill_child(self, pid=None, rng=None):
        """SIGKILL one pool process (a random one, or `pid`); returns its pid or None."""
        children = self.child_pids()
        if pid is None:
            if not children:
                return None
            pid = (rng or random).choice(children)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def kill_main(self):
        """Node loss: SIGKILL the main process and then every pool process of its group."""
        self.signal(signal.SIGKILL)
        self.wait(5)
        self.signal_group(signal.SIGKILL)

    def terminate(self, wait=True, timeout=None):
        """SIGTERM (warm shutdown, as in a deploy); with `wait`, SIGKILL what is left after `timeout`."""
        self.signal(signal.SIGTERM)
        if wait:
            self.stop(timeout=timeout)


class Beat(ManagedProcess):
    """`celery -A celery_app beat` with the DatabaseScheduler, pidfile and schedule in the run dir."""

    kind = "beat"

    def __init__(self, max_interval=1, loglevel="info", **kwargs):
        super().__init__(**kwargs)
        self.max_interval = max_interval
        self.loglevel = loglevel

    def command(self):
        return [PYTHON, "-m", "celery", "-A", "celery_app", "beat",
                "-S", "payments.core.beat:DatabaseScheduler",
                "--max-interval", self.max_interval, "-l", self.loglevel,
                "--pidfile", self.run_dir / f"{self.name}.pid",
                "-s", self.run_dir / f"{self.name}-schedule"]

    def start(self, wait=True):
        # A pidfile left by a SIGKILLed beat makes the next one refuse to start.
        (self.run_dir / f"{self.name}.pid").unlink(missing_ok=True)
        return super().start(wait=wait)

    def is_ready(self):
        text = self.log_text(since_start=True)
        return "beat: Starting" in text or "DatabaseScheduler: Schedule changed" in text or "Scheduler: Sending" in text


class WebServer(ManagedProcess):
    """`gunicorn config.wsgi` on a free port; ready when /healthz answers 200 (or 404 before it exists).

    `workers`, `threads` and `worker_class` left at None are gunicorn.conf.py's choice (what
    production runs); set, they override it on the command line.
    """

    kind = "web"

    def __init__(self, port=None, workers=None, threads=None, worker_class=None, host="127.0.0.1",
                 extra_args=(), **kwargs):
        super().__init__(**kwargs)
        self.host = host
        self.port = port or free_port()
        self.workers, self.threads, self.worker_class = workers, threads, worker_class
        self.extra_args = tuple(extra_args)

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def command(self):
        overrides = [(flag, value) for flag, value in
                     (("-w", self.workers), ("--threads", self.threads), ("-k", self.worker_class))
                     if value is not None]
        return [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"{self.host}:{self.port}",
                *(arg for pair in overrides for arg in pair),
                "--graceful-timeout", "5", "--access-logfile", "-", *self.extra_args]

    def worker_pids(self):
        """The live gunicorn worker processes (the arbiter's children)."""
        return child_pids(self.pid) if self.alive() else []

    def is_ready(self):
        status, _, _ = http_request("GET", f"{self.url}/healthz", timeout=2)
        return status in (200, 404)

    def healthz(self):
        return http_request("GET", f"{self.url}/healthz", timeout=5)


class RedisServer(ManagedProcess):
    """A private, non-persistent `redis-server`: killing it loses every queued message."""

    kind = "redis"
    stop_timeout = 5.0

    def __init__(self, port=None, host="127.0.0.1", **kwargs):
        kwargs.setdefault("env", environment())
        super().__init__(**kwargs)
        self.host = host
        self.port = port or free_port()

    def url(self, db=0):
        return f"redis://{self.host}:{self.port}/{db}"

    def command(self):
        return ["redis-server", "--port", self.port, "--bind", self.host, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", self.run_dir,
                "--maxmemory-policy", "noeviction"]

    def is_ready(self):
        return self.ping()

    def ping(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def restart(self, pause=0.0, wait=True):
        """Crash and come back empty on the same port (no persistence: the queues are gone)."""
        self.kill()
        self.signal_group(signal.SIGKILL)
        if pause:
            time.sleep(pause)
        # The port is ours again as soon as the old process is gone (redis sets SO_REUSEADDR).
        return self.start(wait=wait)


# --- several processes at once ---------------------------------------------------------------------


def start_together(processes, timeout=None):
    """Start every process, then wait until each is ready: they boot in parallel (Celery takes seconds)."""
    for process in processes:
        process.start(wait=False)
    for process in processes:
        process.wait_ready(timeout=timeout)
    return processes


def stop_together(processes, timeout=10):
    """Warm shutdowns in parallel (SIGTERM to all, wait), then stop() kills whatever is left of each group."""
    for process in processes:
        process.signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout)
    for process in processes:
        process.stop()
