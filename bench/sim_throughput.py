"""Simulator throughput: SDK clients and a light raw-socket client, each against a same-run baseline.

    python -m bench.sim_throughput [--duration 10] [--clients 32] [--processes 4] [--rounds 5] [--out FILE]

Two servers run as subprocesses for the whole run: the simulator (in memory, no faults) and a
trivial stdlib ``ThreadingHTTPServer`` baseline that answers every request with a canned
transaction of the same size over the same keep-alive HTTP/1.1 stack. Each is driven by two kinds
of client, for ``--duration`` seconds each, cut into ``--rounds`` slices that alternate between the
two servers so machine noise hits both alike:

* **SDK** (the measure the targets are quoted in): ``--clients`` threads of the real ``braintree`` SDK spread over
  ``--processes`` processes, doing sale+find pairs. On a small machine the SDK itself (minidom
  parsing, ``requests``, ``getproxies()`` on every call) needs several times the server's CPU per
  request, so this figure measures the client as much as the server.
* **light**: the same byte-for-byte requests the SDK sends (captured once from the SDK), replayed
  over ``--clients`` keep-alive connections by one asyncio process that does nothing else. This is
  the server's capacity, what the pipeline benchmarks can rely on.

For each run the table shows requests/s, the server's CPU per request (``/proc/<pid>/stat``) as
"requests per server core-second", and the client's CPU per request, so a client-bound figure
shows up as client CPU x rate ~ the machine's cores.
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import braintree

from bench.runner import Benchmark, benchmark_parser, run_benchmark
from braintree_sim.config import SimConfig
from braintree_sim.server import HEALTH_PATH
from devtools.proxy import drop_proxy_variables
from devtools.stack import PYTHON, ManagedProcess, Simulator, free_port, http_request

CONFIG = SimConfig()
_TRANSACTION_ID = re.compile(rb"<transaction>\s*<id>([^<]+)</id>")
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
# Fixed width, so a counter can replace it without touching Content-Length.
_ORDER_MARK = b"bench-light-000000000000"


def _gateway(url):
    host, port = url.rsplit("//", 1)[1].split(":")
    return braintree.BraintreeGateway(braintree.Configuration(
        environment=braintree.Environment("bench", host, port, "", False, None),
        merchant_id=CONFIG.merchant_id, public_key=CONFIG.public_key,
        private_key=CONFIG.private_key, timeout=30, wrap_http_exceptions=True,
    ))


def _sale_params(order_id):
    return {"amount": "10.00", "payment_method_nonce": "fake-valid-nonce", "order_id": order_id}


def _client(url, deadline, counts, index):
    gateway = _gateway(url)
    requests_done = errors = 0
    while time.monotonic() < deadline:
        try:
            result = gateway.transaction.sale(_sale_params(f"bench-{index}-{requests_done}"))
            gateway.transaction.find(result.transaction.id)
            requests_done += 2
        except Exception:
            errors += 1
    counts[index] = (requests_done, errors)


def _sdk_process(url, duration, threads, queue):
    """One SDK client process: ``threads`` clients until the deadline, then report totals."""
    deadline = time.monotonic() + duration
    counts = [(0, 0)] * threads
    workers = [threading.Thread(target=_client, args=(url, deadline, counts, index))
               for index in range(threads)]
    cpu_before = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((sum(done for done, _ in counts), sum(errors for _, errors in counts),
               time.process_time() - cpu_before))


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    match = _CONTENT_LENGTH.search(head)
    body = await reader.readexactly(int(match.group(1))) if match else b""
    return int(head[9:12]), body


async def _light_connection(host, port, templates, deadline, index):
    sale_template, find_template, template_id = templates
    loop = asyncio.get_running_loop()
    requests_done = errors = 0
    writer = None
    while loop.time() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
                writer.get_extra_info("socket").setsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            order_id = b"bench-light-%03d%09d" % (index, requests_done)
            writer.write(sale_template.replace(_ORDER_MARK, order_id))
            status, body = await _read_response(reader)
            match = _TRANSACTION_ID.search(body)
            if status != 201 or not match:
                raise ValueError(f"sale answered {status}")
            writer.write(find_template.replace(template_id, match.group(1)))
            status, body = await _read_response(reader)
            if status != 200:
                raise ValueError(f"find answered {status}")
            requests_done += 2
        except (OSError, ValueError, asyncio.IncompleteReadError):
            errors += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()
    return requests_done, errors


async def _light_load(url, duration, connections, templates):
    host, port = url.rsplit("//", 1)[1].split(":")
    sale, find, find_id, captured_host = templates
    # Headers only: the Host line changes length, Content-Length does not.
    templates = tuple(template.replace(b"Host: " + captured_host, f"Host: {host}:{port}".encode())
                      for template in (sale, find)) + (find_id,)
    deadline = asyncio.get_running_loop().time() + duration
    results = await asyncio.gather(*(
        _light_connection(host, int(port), templates, deadline, index)
        for index in range(connections)))
    return sum(done for done, _ in results), sum(errors for _, errors in results)


def _light_process(url, duration, connections, templates, queue):
    """One light client process: ``connections`` keep-alive raw-socket clients on one event loop."""
    cpu_before = time.process_time()
    done, errors = asyncio.run(_light_load(url, duration, connections, templates))
    queue.put((done, errors, time.process_time() - cpu_before))


def _run_load(target, per_process, url, duration, extra=()):
    """Start one client process per entry of ``per_process``.

    Returns ``(requests, errors, client CPU seconds, elapsed seconds)``.
    """
    queue = multiprocessing.Queue()
    started = time.monotonic()
    workers = [multiprocessing.Process(target=target, args=(url, duration, count, *extra, queue))
               for count in per_process if count]
    for worker in workers:
        worker.start()
    totals = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = max(time.monotonic() - started, duration)
    return (sum(total[0] for total in totals), sum(total[1] for total in totals),
            sum(total[2] for total in totals), elapsed)


def measure(url, duration, clients, processes):
    """SDK load against ``url``: ``(requests, errors, client CPU seconds, elapsed seconds)``."""
    per_process = [clients // processes + (index < clients % processes)
                   for index in range(processes)]
    return _run_load(_sdk_process, per_process, url, duration)


def measure_light(url, duration, connections, templates):
    """Light load against ``url``: ``(requests, errors, client CPU seconds, elapsed seconds)``."""
    return _run_load(_light_process, [connections], url, duration, (templates,))


def cpu_seconds(pid):
    """User+system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_server(pid, run, totals=None):
    """Run ``run()`` (a load) and add its counts and the server's CPU seconds to ``totals``."""
    totals = totals or {"requests": 0, "errors": 0, "client_cpu": 0.0, "elapsed": 0.0,
                        "server_cpu": 0.0}
    before = cpu_seconds(pid)
    requests_done, errors, client_cpu, elapsed = run()
    after = cpu_seconds(pid)
    totals["requests"] += requests_done
    totals["errors"] += errors
    totals["client_cpu"] += client_cpu
    totals["elapsed"] += elapsed
    if before is None or after is None or totals["server_cpu"] is None:
        totals["server_cpu"] = None
    else:
        totals["server_cpu"] += after - before
    return totals


def figures(totals):
    """Requests per second and CPU seconds per request from :func:`measure_server` totals."""
    done = totals["requests"]

    def per_request(seconds):
        return seconds / done if done and seconds is not None else None
    return {"rps": done / totals["elapsed"], "errors": totals["errors"],
            "server_cpu": per_request(totals["server_cpu"]),
            "client_cpu": per_request(totals["client_cpu"])}


def _canned_transaction():
    from braintree_sim.gateway import Gateway
    from braintree_sim.store import Store

    gateway = Gateway(Store())
    return gateway.sale(_sale_params("bench-0-0")).body


def capture_sdk_requests():
    """The exact bytes the SDK sends for one sale and one find, as light-client templates.

    Returns ``(sale, find, find_id, host)``: the sale carries :data:`_ORDER_MARK` as its order id,
    ``find_id`` is the transaction id inside the find request, to be swapped for a real one, and
    ``host`` is the captured ``Host`` header value.
    """
    canned = _canned_transaction()
    canned_id = _TRANSACTION_ID.search(canned).group(1)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    captured = []

    def answer_two_requests():
        while len(captured) < 2:
            connection, _ = listener.accept()
            with connection:
                pending = b""
                while len(captured) < 2:
                    while b"\r\n\r\n" not in pending:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        pending += chunk
                    if b"\r\n\r\n" not in pending:
                        break
                    head, _, pending = pending.partition(b"\r\n\r\n")
                    match = _CONTENT_LENGTH.search(head)
                    length = int(match.group(1)) if match else 0
                    while len(pending) < length:
                        pending += connection.recv(65536)
                    captured.append(head + b"\r\n\r\n" + pending[:length])
                    pending = pending[length:]
                    status = b"201 Created" if len(captured) == 1 else b"200 OK"
                    connection.sendall(
                        b"HTTP/1.1 %s\r\nContent-Type: application/xml; charset=utf-8\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (status, len(canned), canned))

    thread = threading.Thread(target=answer_two_requests, daemon=True)
    thread.start()
    gateway = _gateway(f"http://127.0.0.1:{port}")
    result = gateway.transaction.sale(_sale_params(_ORDER_MARK.decode()))
    gateway.transaction.find(result.transaction.id)
    thread.join(10)
    listener.close()
    sale, find = captured
    return sale, find, canned_id, f"127.0.0.1:{port}".encode()


class _BaselineHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True
    body = b""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


def serve_baseline(port):
    """The trivial baseline server: same keep-alive HTTP/1.1 stack, no gateway logic."""
    _BaselineHandler.body = _canned_transaction()

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    Server(("127.0.0.1", port), _BaselineHandler).serve_forever()


def _row(client, server, figures):
    server_cpu, client_cpu = figures["server_cpu"], figures["client_cpu"]
    return (f"{client:<26}{server:<15}{figures['rps']:>8.0f}{figures['errors']:>7}"
            + (f"{server_cpu * 1000:>9.2f}{1 / server_cpu:>10.0f}" if server_cpu else f"{'-':>19}")
            + (f"{client_cpu * 1000:>9.2f}" if client_cpu else f"{'-':>9}"))


class BaselineServer(ManagedProcess):
    """:func:`serve_baseline` in its own process, on a free port."""

    kind = "baseline"

    def __init__(self, port=None, **kwargs):
        super().__init__(**kwargs)
        self.port = port or free_port()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        return [PYTHON, "-m", "bench.sim_throughput", "--serve-baseline", self.port]

    def is_ready(self):
        # The baseline answers any path with 200, so the simulator's health probe works for it too.
        status, _, _ = http_request("GET", self.url + HEALTH_PATH, timeout=1)
        return status == 200


class InMemorySimulator(Simulator):
    """The simulator without a state file: every transaction in memory, no faults."""

    def command(self):
        return [PYTHON, "-m", "braintree_sim", "--host", self.host, "--port", self.port, *self.extra_args]


class SimThroughput(Benchmark):
    name = "sim_throughput"

    def __init__(self, args):
        super().__init__(args)
        self.results = {}

    def start(self):
        self.log(f"run dir {self.run_dir}")
        self.templates = capture_sdk_requests()
        self.baseline = self.launch(BaselineServer(run_dir=self.run_dir, name="baseline"))
        self.sim = self.launch(InMemorySimulator(run_dir=self.run_dir, name="sim"))

    def run(self):
        args = self.args
        servers = {"baseline": (self.baseline.pid, self.baseline.url), "braintree_sim": (self.sim.pid, self.sim.url)}
        # Alternate short slices so a neighbour's burst of CPU hits both servers alike.
        slice_seconds = args.duration / args.rounds
        loads = {"sdk": lambda url: measure(url, slice_seconds, args.clients, args.processes),
                 "light": lambda url: measure_light(url, slice_seconds, args.clients, self.templates)}
        results = {}
        for kind, load in loads.items():
            for _ in range(args.rounds):
                for name, (pid, url) in servers.items():
                    self.check_deadline()
                    results[kind, name] = measure_server(pid, lambda: load(url), results.get((kind, name)))
        self.results = {key: figures(totals) for key, totals in results.items()}

    def result(self, command):
        a = self.args
        return {"command": command, "passed": True, "duration": a.duration, "rounds": a.rounds,
                "clients": a.clients, "processes": a.processes, "cores": os.cpu_count() or 1,
                "runs": [{"client": kind, "server": server, **fig} for (kind, server), fig in self.results.items()],
                "run_dir": str(self.run_dir)}


def report(result):
    """Print the table of the results and the simulator/baseline ratios."""
    args = argparse.Namespace(**{k: result[k] for k in ("duration", "rounds", "clients", "processes")})
    results = {(run["client"], run["server"]): run for run in result["runs"]}
    cores = result["cores"]
    print(f"duration={args.duration:.0f}s per run in {args.rounds} alternating slices, {cores} cores, sale+find pairs, "
          f"loadavg at end {os.getloadavg()[0]:.1f}")
    print(f"{'client':<26}{'server':<15}{'req/s':>8}{'errors':>7}{'srv ms':>9}"
          f"{'req/srv-s':>10}{'cli ms':>9}")
    kinds = {"sdk": f"SDK {args.clients} thr/{args.processes} proc",
             "light": f"light {args.clients} conn/1 proc"}
    for kind, label in kinds.items():
        for server in ("baseline", "braintree_sim"):
            print(_row(label, server, results[kind, server]))
    print("srv ms = server CPU ms per request (/proc/<pid>/stat); req/srv-s = requests per server "
          "core-second; cli ms = client CPU ms per request")
    for kind, label in kinds.items():
        base, sim = results[kind, "baseline"], results[kind, "braintree_sim"]
        line = f"ratio simulator/baseline, {kind}: {sim['rps'] / base['rps']:.2f}"
        if sim["server_cpu"] and sim["client_cpu"]:
            per_request = sim["server_cpu"] + sim["client_cpu"]
            line += (f"; CPU-bound ceiling {cores} cores / ({sim['client_cpu'] * 1000:.2f} client"
                     f" + {sim['server_cpu'] * 1000:.2f} server ms) = {cores / per_request:.0f}"
                     f" req/s; busy cores: client {sim['client_cpu'] * sim['rps']:.2f}"
                     f" + server {sim['server_cpu'] * sim['rps']:.2f} of {cores}")
        print(line)


def main(argv=None):
    """Measure baseline and simulator with both client kinds, interleaved, and print a table."""
    parser = benchmark_parser("bench.sim_throughput", None, timeout=None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=32,
                        help="concurrent SDK clients, and light-client connections")
    parser.add_argument("--processes", type=int, default=4, help="SDK client processes")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating baseline/simulator slices per measurement")
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0
    # Both client kinds against both servers for --duration each, plus the start: well within this.
    args.timeout = args.timeout or 4 * args.duration + 120
    return run_benchmark(SimThroughput(args), argv=argv, print_report=report)


if __name__ == "__main__":
    # The SDK forces getproxies() onto every request; an HTTP proxy cannot reach 127.0.0.1.
    drop_proxy_variables()
    sys.exit(main())
