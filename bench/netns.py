"""Worker "hosts" on this machine: network namespaces joined to the root namespace by veth pairs.

Host i is namespace `<prefix>-h<i>` with veth `<prefix>r<i>` (root side, 10.213.<i>.1/24) and
`<prefix>n<i>` (namespace side, 10.213.<i>.2/24). Each /24 exists only on its own veth, so
traffic stays between the root namespace and the namespaces made here. The shared services
listen on 127.0.0.1 only (PostgreSQL's listen_addresses is never changed), so `Relay` (socat in
the root namespace, bound to the veth address) forwards a port to 127.0.0.1. `cut(i)` takes the
root side of a host's link down (its TCP connections hang, as in a real partition); `restore(i)`
brings it back. `NetHosts` is a context manager and `cleanup()` is idempotent: every namespace,
veth and relay it made goes away at exit, also after an exception or SIGTERM (the caller turns
SIGTERM into an exception, as bench.runner does).
"""

import subprocess

SUBNET = "10.213"


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)


class Relay:
    """`socat` forwarding bind_host:port to 127.0.0.1:target_port (one process, forking per connection)."""

    def __init__(self, bind_host, port, target_port, log_path):
        self.args = ["socat", f"TCP-LISTEN:{port},bind={bind_host},reuseaddr,fork,backlog=128",
                     f"TCP:127.0.0.1:{target_port}"]
        self.log_path = log_path
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            import os
            import signal
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the relay and every forked connection
            except ProcessLookupError:
                pass
            self.proc.wait(5)


class NetHosts:
    def __init__(self, count, prefix="pscale", run_dir=None):
        self.count = count
        self.prefix = prefix
        self.run_dir = run_dir
        self.made = []
        self.relays = []

    def ns(self, i):
        return f"{self.prefix}-h{i}"

    def root_link(self, i):
        return f"{self.prefix}r{i}"

    def gateway(self, i):
        """The root namespace's address as host i sees it."""
        return f"{SUBNET}.{i}.1"

    def address(self, i):
        return f"{SUBNET}.{i}.2"

    def exec_prefix(self, i):
        return ["ip", "netns", "exec", self.ns(i)]

    def create(self):
        self.cleanup_leftovers()
        for i in range(1, self.count + 1):
            ns, root, inner = self.ns(i), self.root_link(i), f"{self.prefix}n{i}"
            ip("netns", "add", ns)
            self.made.append(i)
            ip("link", "add", root, "type", "veth", "peer", "name", inner)
            ip("link", "set", inner, "netns", ns)
            ip("addr", "add", f"{self.gateway(i)}/24", "dev", root)
            ip("link", "set", root, "up")
            ip("-n", ns, "addr", "add", f"{self.address(i)}/24", "dev", inner)
            ip("-n", ns, "link", "set", inner, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        return self

    def relay(self, port_map):
        """For every host, forward gateway(i):port -> 127.0.0.1:target for each (port, target)."""
        for i in self.made:
            for port, target in port_map:
                self.relays.append(Relay(self.gateway(i), port, target,
                                         f"{self.run_dir}/relay-{i}-{port}.log").start())

    def cut(self, i):
        ip("link", "set", self.root_link(i), "down")

    def restore(self, i):
        ip("link", "set", self.root_link(i), "up")

    def cleanup(self):
        for relay in self.relays:
            relay.stop()
        self.relays = []
        for i in self.made:
            # Deleting the root side deletes its peer; deleting the namespace the rest.
            ip("link", "del", self.root_link(i), check=False)
            ip("netns", "del", self.ns(i), check=False)
        self.made = []

    def cleanup_leftovers(self):
        """Namespaces and links of this prefix left by a run that was SIGKILLed."""
        for line in ip("netns", "list", check=False).stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(f"{self.prefix}-h"):
                ip("netns", "del", name, check=False)
        for line in ip("-o", "link", "show", check=False).stdout.splitlines():
            name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
            if name.startswith(f"{self.prefix}r"):
                ip("link", "del", name, check=False)

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.cleanup()
