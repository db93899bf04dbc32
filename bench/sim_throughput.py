"""Simulator throughput: concurrent SDK clients doing sale+find pairs, with a same-run baseline.

    python -m bench.sim_throughput [--duration 10] [--clients 32] [--processes 4]

The simulator runs as a subprocess (in memory, no faults). The baseline is a trivial stdlib
``ThreadingHTTPServer`` subprocess that answers every request with a canned transaction of the
same size, driven by the identical client load, so the simulator figure can be quoted as a ratio
of "what this machine's stdlib HTTP stack and SDK can do at all". Client threads are spread over
several processes because one Python process cannot drive 32 SDK clients past its own GIL.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import braintree

from braintree_sim.config import SimConfig
from braintree_sim.launch import free_port, start_subprocess, wait_until_ready, without_http_proxy

CONFIG = SimConfig()


def _gateway(url):
    host, port = url.rsplit("//", 1)[1].split(":")
    return braintree.BraintreeGateway(braintree.Configuration(
        environment=braintree.Environment("bench", host, port, "", False, None),
        merchant_id=CONFIG.merchant_id, public_key=CONFIG.public_key,
        private_key=CONFIG.private_key, timeout=30, wrap_http_exceptions=True,
    ))


def _client(url, deadline, counts, index):
    gateway = _gateway(url)
    requests_done = errors = 0
    while time.monotonic() < deadline:
        try:
            result = gateway.transaction.sale({
                "amount": "10.00", "payment_method_nonce": "fake-valid-nonce",
                "order_id": f"bench-{index}-{requests_done}",
            })
            gateway.transaction.find(result.transaction.id)
            requests_done += 2
        except Exception:
            errors += 1
    counts[index] = (requests_done, errors)


def _load_process(url, duration, threads, queue):
    """One client process: ``threads`` SDK clients until the deadline, then report totals."""
    deadline = time.monotonic() + duration
    counts = [(0, 0)] * threads
    workers = [threading.Thread(target=_client, args=(url, deadline, counts, index))
               for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((sum(done for done, _ in counts), sum(errors for _, errors in counts)))


def measure(url, duration, clients, processes):
    """Run the load against ``url``; return ``(requests per second, total errors)``."""
    queue = multiprocessing.Queue()
    per_process = [clients // processes + (index < clients % processes)
                   for index in range(processes)]
    started = time.monotonic()
    workers = [multiprocessing.Process(target=_load_process, args=(url, duration, threads, queue))
               for threads in per_process if threads]
    for worker in workers:
        worker.start()
    totals = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = max(time.monotonic() - started, duration)
    return sum(done for done, _ in totals) / elapsed, sum(errors for _, errors in totals)


def cpu_seconds(pid):
    """User+system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_server(pid, url, duration, clients, processes):
    """Like :func:`measure`, plus server CPU seconds per request (how close it is to saturation)."""
    before = cpu_seconds(pid)
    rps, errors = measure(url, duration, clients, processes)
    after = cpu_seconds(pid)
    cpu_per_request = None
    if before is not None and after is not None and rps:
        cpu_per_request = (after - before) / (rps * duration)
    return rps, errors, cpu_per_request


def _describe(name, rps, errors, cpu_per_request):
    line = f"{name:<24}{rps:8.1f} requests/s  errors={errors}"
    if cpu_per_request:
        line += (f"  server CPU {cpu_per_request * 1000:.2f} ms/request"
                 f" (~{1 / cpu_per_request:.0f} requests per server CPU-second)")
    return line


def _canned_transaction():
    from braintree_sim.gateway import Gateway
    from braintree_sim.store import Store

    gateway = Gateway(Store())
    return gateway.sale({"amount": "10.00", "payment_method_nonce": "fake-valid-nonce",
                         "order_id": "bench-0-0"}).body


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


def main(argv=None):
    """Measure baseline and simulator back to back and print both and their ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.sim_throughput")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent SDK clients")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0

    port = free_port()
    baseline = subprocess.Popen([sys.executable, "-m", "bench.sim_throughput",
                                 "--serve-baseline", str(port)], env=without_http_proxy())
    simulator = None
    try:
        # The baseline answers any path with 200, so the health probe works for it too.
        wait_until_ready(f"http://127.0.0.1:{port}", timeout=10, process=baseline)
        base = measure_server(baseline.pid, f"http://127.0.0.1:{port}", args.duration,
                              args.clients, args.processes)
        baseline.terminate()
        baseline.wait()
        simulator, url = start_subprocess()
        sim = measure_server(simulator.pid, url, args.duration, args.clients, args.processes)
    finally:
        for process in (baseline, simulator):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait()
    print(f"clients={args.clients} processes={args.processes} duration={args.duration:.0f}s "
          f"(sale+find pairs)")
    print(_describe("baseline stdlib server:", *base))
    print(_describe("braintree_sim:", *sim))
    print(f"ratio simulator/baseline: {sim[0] / base[0]:.2f}")
    return 0


if __name__ == "__main__":
    # The SDK forces getproxies() onto every request; an HTTP proxy cannot reach 127.0.0.1.
    for name in ("http_proxy", "HTTP_PROXY"):
        os.environ.pop(name, None)
    sys.exit(main())
