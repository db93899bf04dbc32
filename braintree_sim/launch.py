"""Start the simulator as a subprocess and wait for it, for tests, benchmarks and scripts."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from braintree_sim.server import HEALTH_PATH

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY")


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def without_http_proxy(environ=None):
    """A copy of the environment without the HTTP proxy the SDK would force on localhost."""
    env = dict(os.environ if environ is None else environ)
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    return env


def wait_until_ready(base_url, timeout=10.0, process=None):
    """Poll ``GET {base_url}/__sim__/health`` until it answers 200; raise on timeout or exit."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"simulator exited with status {process.returncode}")
        try:
            with opener.open(base_url + HEALTH_PATH, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            time.sleep(0.05)
    raise TimeoutError(f"simulator at {base_url} not ready after {timeout}s")


def start_subprocess(port=None, args=(), host="127.0.0.1", timeout=10.0, **popen_kwargs):
    """Run ``python -m braintree_sim`` on ``port`` (free if None); return ``(process, base_url)``.

    The caller owns the process: ``process.terminate(); process.wait()`` when done.
    """
    port = port or free_port(host)
    command = [sys.executable, "-m", "braintree_sim", "--host", host, "--port", str(port), *args]
    popen_kwargs.setdefault("env", without_http_proxy())
    popen_kwargs.setdefault("stdout", subprocess.DEVNULL)
    process = subprocess.Popen(command, **popen_kwargs)
    base_url = f"http://{host}:{port}"
    try:
        wait_until_ready(base_url, timeout, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, base_url
