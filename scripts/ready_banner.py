"""`make run`'s last word: wait until every process answers, then print token, logins and URLs.

    python scripts/ready_banner.py    # started in the background by scripts/run.sh

Waits for the web's /healthz (200), the simulator's health route and a ping from both Celery
workers, so the box comes after the startup banners instead of scrolling away under them. Reads
the demo token and a generated admin password from .run/ (written by `bootstrap_demo --run-dir`).
"""

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
WAIT_SECONDS = 180


def answers(url, status=200):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == status
    except OSError:
        return False


def workers_answering(expected):
    """The expected worker names (payments@..., default@...) that answer a ping."""
    sys.path.insert(0, str(ROOT))
    from celery_app import app

    replies = app.control.ping(timeout=1.0) or []
    names = {name for reply in replies for name in reply}
    return {prefix for prefix in expected if any(name.startswith(prefix) for name in names)}


QUEUES = ("payments", "default", "maintenance")


def queued_now():
    """{queue: messages waiting} on the broker, or {} when it cannot say (before the workers start)."""
    sys.path.insert(0, str(ROOT))
    from celery_app import app

    depths = {}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            for queue in QUEUES:
                channel = conn.channel()
                try:
                    depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except conn.channel_errors:
                    depths[queue] = 0
                finally:
                    channel.close()
    except Exception:  # noqa: BLE001 - any broker error only means "cannot say"
        return {}
    return depths


def read(name):
    path = RUN_DIR / name
    return path.read_text().strip() if path.exists() else None


def banner(web, gateway, flower):
    token = read("demo-token") or "(see bootstrap_demo's output above)"
    password = read("admin-password")
    if os.environ.get("DEMO_ADMIN_PASSWORD"):
        password_line = "password from DEMO_ADMIN_PASSWORD"
    elif password:
        password_line = f"password {password}"
    else:
        password_line = "password unchanged (yours); `make admin-password` resets and prints it"
    lines = [
        "Payments stack is up (web, workers, beat, gateway simulator). Ctrl-C stops it all.",
        "",
        f"  API token (user demo)  {token}",
        f"  Admin login            user admin, {password_line}",
        "",
        f"  Dashboard              {web}/",
        f"  API (browsable)        {web}/api/orders/",
        f"  API docs               {web}/api/docs/",
        f"  Admin                  {web}/admin/",
        f"  Health                 {web}/healthz",
        f"  Simulator ledger       {gateway}/__sim__/transactions",
    ]
    if flower:
        lines.append(f"  Flower (Celery)        {flower}")
    queued = {q: n for q, n in json.loads(read("queued-at-start") or "{}").items() if n}
    if queued:
        # Retries still waiting at the last Ctrl-C (a refund's settlement poll, a charge's backoff)
        # were put back on the broker by the workers' warm shutdown and run now: each looks at its
        # row first, so one whose order or refund already ended does nothing.
        waiting = ", ".join(f"{queue} {count}" for queue, count in queued.items())
        lines += ["", f"  From the last run: {waiting} message(s) waiting, run now; each re-checks its row first,",
                  "  so a finished order or refund is left as it is."]
    lines += [
        "",
        "  Try it:  make demo   (every kind of order and refund, then summary tables; under a minute)",
        "  Declines and rejections: the sandbox amounts and nonces in docs/tutorial/getting-started.md.",
        "  New admin password:  make admin-password",
    ]
    width = max(len(line) for line in lines) + 2
    rule = "=" * (width + 2)
    return "\n".join([rule, *(f" {line}" for line in lines), rule])


def main():
    if sys.argv[1:] == ["--queued"]:
        # scripts/run.sh, before the workers start: what the last run left on the broker.
        print(json.dumps(queued_now()))
        return 0
    web = f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}"
    gateway = os.environ.get("BRAINTREE_SIMULATOR_URL", "http://127.0.0.1:8600").rstrip("/")
    flower = f"http://127.0.0.1:{os.environ.get('FLOWER_PORT', '5555')}" if os.environ.get("FLOWER") == "1" else None
    expected = {"payments@", "default@"}
    deadline = time.monotonic() + WAIT_SECONDS
    missing = ["web", "gateway", "workers"]
    while time.monotonic() < deadline:
        missing = []
        if not answers(f"{web}/healthz"):
            missing.append("web /healthz")
        if not answers(f"{gateway}/__sim__/health"):
            missing.append("gateway")
        if not missing:
            absent = expected - workers_answering(expected)
            missing += sorted(f"worker {name}" for name in absent)
        if not missing:
            print("\n" + banner(web, gateway, flower) + "\n", flush=True)
            return 0
        time.sleep(1)
    print(f"make run: still waiting for {', '.join(missing)} after {WAIT_SECONDS} s; see the logs above.", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
