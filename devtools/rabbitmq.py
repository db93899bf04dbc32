"""A private RabbitMQ vhost on the machine's shared RabbitMQ, for one test module or one run.

The server is shared with other sessions: everything here acts on our own vhost only (never
"/", never stop_app/start_app). `Vhost` creates it with full permissions for the broker user,
gives its amqp:// URL, and deletes it (with every queue and message in it) on exit::

    with Vhost(f"payments_test_{os.getpid()}") as vhost:
        env = environment(..., broker_url=vhost.url)
"""

import subprocess

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
RABBITMQ_USER = "guest"
RABBITMQ_PASSWORD = "guest"


def rabbitmqctl(*args, timeout=30):
    """Run `rabbitmqctl -q ARGS`; its stdout (RuntimeError with stderr on failure)."""
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


class Vhost:
    def __init__(self, name, host=RABBITMQ_HOST, port=RABBITMQ_PORT):
        if name in ("", "/"):
            raise ValueError("refusing to manage the default vhost")
        self.name = name
        self.host = host
        self.port = port

    @property
    def url(self):
        return self.url_via(self.host, self.port)

    def url_via(self, host, port):
        """The URL through another address (e.g. a relay on a network namespace's veth)."""
        return f"amqp://{RABBITMQ_USER}:{RABBITMQ_PASSWORD}@{host}:{port}/{self.name}"

    def create(self):
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, RABBITMQ_USER, ".*", ".*", ".*")
        return self

    def delete(self, missing_ok=True):
        try:
            rabbitmqctl("delete_vhost", self.name)
        except RuntimeError:
            if not missing_ok:
                raise

    def recreate_empty(self):
        """'The broker restarted and lost everything': every connection closed, every queue gone."""
        self.delete()
        self.create()

    def close_connections(self, reason="chaos: connection drop"):
        """Close every client connection of this vhost (3.10 has close_all_connections -p)."""
        rabbitmqctl("close_all_connections", "-p", self.name, reason)

    def connections(self):
        return [line for line in rabbitmqctl("list_connections", "-p", self.name, "name").splitlines() if line.strip()]

    def queues(self):
        """Queue name -> {"type", "messages", "consumers"}."""
        out = {}
        for line in rabbitmqctl("list_queues", "-p", self.name, "name", "type", "messages", "consumers",
                                "--no-table-headers").splitlines():
            parts = line.split("\t")
            if len(parts) == 4:
                out[parts[0]] = {"type": parts[1], "messages": int(parts[2]), "consumers": int(parts[3])}
        return out

    def exchanges(self):
        return {line.split("\t")[0]: line.split("\t")[1]
                for line in rabbitmqctl("list_exchanges", "-p", self.name, "name", "type",
                                        "--no-table-headers").splitlines() if "\t" in line}

    def __enter__(self):
        # A vhost left by a run that died is ours to reuse: start from an empty one.
        self.delete()
        return self.create()

    def __exit__(self, *exc):
        self.delete()


def delete_orphaned_vhosts(prefix, alive):
    """Delete vhosts `<prefix><pid>` whose pid is no longer alive (runs killed before cleanup)."""
    for name in rabbitmqctl("list_vhosts", "name", "--no-table-headers").split():
        if name.startswith(prefix) and name[len(prefix):].isdigit() and not alive(int(name[len(prefix):])):
            Vhost(name).delete()
