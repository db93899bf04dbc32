"""`make demo`: a seeded mix of orders against a running `make run`, then what became of them.

    make demo RATE=5 N=40            # or: python scripts/demo.py --rate 5 --orders 40 --seed 7

Submits approved, processor-declined, gateway-rejected (5001.00 and the fraud nonce),
processor-unavailable (3000.00, retried, then failed) orders and duplicate pairs sent with one
Idempotency-Key (every kind at least once, the rest drawn by weight), at `--rate` orders per second
with a progress bar; polls every order until it is final; prints a table of outcomes per kind and
the time to final status (server side: the order's `updated_at - created_at`, p50 / p99 / max).
Then refunds two paid orders: one in full before its sale settles (a void) and one in part (2.00),
which waits for the settlement `make run`'s gateway makes after a few seconds and then refunds;
prints them too. Exits 1 if an order or refund is not final in `--timeout` seconds or ends other
than it should.

The API token: `--token`, else `DEMO_TOKEN`, else `.run/demo-token`, which `make run` writes
(`bootstrap_demo --run-dir .run`) beside the banner it prints.
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stats import percentile  # noqa: E402

FINAL = {"paid", "failed", "needs_review"}


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    expected: str  # final status
    nonce: str = "fake-valid-nonce"
    amounts: tuple = ("10.00", "99.99")  # low, high (uniform, cents)
    duplicate: bool = False


KINDS = [
    # Short names: the table must fit an 80-column terminal.
    Kind("approved", 40, "paid"),
    Kind("declined 20xx", 15, "failed", amounts=("2000.00", "2099.00")),
    Kind("rejected 5001", 10, "failed", amounts=("5001.00", "5001.00")),
    Kind("rejected fraud", 5, "failed", nonce="fake-gateway-rejected-fraud-nonce"),
    Kind("unavailable 3000", 10, "failed", amounts=("3000.00", "3000.00")),
    Kind("invalid card", 5, "failed", nonce="fake-luhn-invalid-nonce"),
    Kind("duplicate pair", 15, "paid", duplicate=True),
]


@dataclass(frozen=True)
class RefundKindPlan:
    name: str
    amount: str | None  # None: everything not yet refunded
    expected_kind: str  # void (the sale had not settled) or refund (a credit after settlement)


# Each is asked of an approved order as soon as it is paid. The full refund comes before the sale
# settles, so the gateway voids it; the partial one cannot void a sale, so it waits for the
# settlement (`make run`'s gateway settles a few seconds after the sale) and then refunds.
REFUND_PLANS = [
    RefundKindPlan("full refund", None, "void"),
    RefundKindPlan("partial 2.00", "2.00", "refund"),
]
FINAL_REFUND = {"succeeded", "failed", "needs_review"}


@dataclass
class RefundRequest:
    plan: RefundKindPlan
    order_id: str
    refund_id: str | None = None
    http_statuses: list = field(default_factory=list)
    replayed: bool = False
    final: dict | None = None

    @property
    def ok(self):
        return bool(
            self.final
            and self.final["status"] == "succeeded"
            and self.final["kind"] == self.plan.expected_kind
            and self.replayed
        )


@dataclass
class Submission:
    kind: Kind
    order_id: str | None = None
    http_statuses: list = field(default_factory=list)
    duplicate_ids: set = field(default_factory=set)
    final: dict | None = None


def read_token(explicit):
    if explicit:
        return explicit
    if os.environ.get("DEMO_TOKEN"):
        return os.environ["DEMO_TOKEN"]
    path = ROOT / ".run" / "demo-token"
    if path.exists():
        return path.read_text().strip()
    sys.exit("No API token: start `make run` first (it writes .run/demo-token), or pass --token.")


def plan(count, seed):
    """`count` (kind, amount) pairs: each kind once (while `count` allows), the rest drawn by weight."""
    rng = random.Random(seed)
    kinds = KINDS[:count] + rng.choices(KINDS, weights=[k.weight for k in KINDS], k=max(0, count - len(KINDS)))
    rng.shuffle(kinds)
    orders = []
    for kind in kinds:
        low, high = (Decimal(a) for a in kind.amounts)
        cents = rng.randint(int(low * 100), int(high * 100))
        orders.append((kind, f"{Decimal(cents) / 100:.2f}"))
    return orders


def submit(session, base_url, kind, amount, run_id, index):
    body = {"amount": amount, "payment_method_nonce": kind.nonce, "description": f"demo {run_id} #{index}"}
    submission = Submission(kind=kind)
    headers = {}
    tries = 1
    if kind.duplicate:
        headers["Idempotency-Key"] = f"demo-{run_id}-{index}"
        tries = 2
    for _ in range(tries):
        response = session.post(f"{base_url}/api/orders/", json=body, headers=headers, timeout=10)
        submission.http_statuses.append(response.status_code)
        if response.status_code == 202:
            submission.duplicate_ids.add(response.json()["id"])
    submission.order_id = next(iter(submission.duplicate_ids), None)
    return submission


def refund(session, base_url, plan, order_id, run_id):
    """Ask for one refund, and again with the same Idempotency-Key: the second is a marked replay."""
    request = RefundRequest(plan=plan, order_id=order_id)
    body = {} if plan.amount is None else {"amount": plan.amount}
    headers = {"Idempotency-Key": f"demo-{run_id}-refund-{plan.name}"}
    ids = set()
    for _ in range(2):
        response = session.post(f"{base_url}/api/orders/{order_id}/refunds/", json=body, headers=headers, timeout=10)
        request.http_statuses.append(response.status_code)
        if response.status_code == 202:
            ids.add(response.json()["id"])
            request.replayed = response.headers.get("Idempotent-Replayed") == "true"
    request.refund_id = next(iter(ids), None) if len(ids) == 1 else None
    return request


def seconds_to_final(order):
    created = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
    updated = datetime.fromisoformat(order["updated_at"].replace("Z", "+00:00"))
    return (updated - created).total_seconds()


def summarize(submissions):
    rows = []
    for kind in KINDS:
        mine = [s for s in submissions if s.kind is kind]
        if not mine:
            continue
        statuses = [s.final["status"] if s.final else "not final" for s in mine]
        times = [seconds_to_final(s.final) for s in mine if s.final]
        unexpected = sum(1 for s, st in zip(mine, statuses) if st != kind.expected)
        # A duplicate pair must be one order: both POSTs answered with the same id.
        split_pairs = sum(1 for s in mine if kind.duplicate and len(s.duplicate_ids) != 1)
        rows.append(
            {
                "kind": kind.name,
                "expected": kind.expected,
                "submitted": sum(len(s.http_statuses) for s in mine),
                "orders": len(mine),
                "paid": statuses.count("paid"),
                "failed": statuses.count("failed"),
                "needs_review": statuses.count("needs_review"),
                "not_final": statuses.count("not final"),
                "unexpected": unexpected + split_pairs,
                "p50_s": percentile(times, 0.5),
                "p99_s": percentile(times, 0.99),
                "max_s": max(times) if times else None,
            }
        )
    times = [seconds_to_final(s.final) for s in submissions if s.final]
    total = {
        "orders": len(submissions),
        "final": sum(1 for s in submissions if s.final),
        "unexpected": sum(r["unexpected"] for r in rows),
        "p50_s": percentile(times, 0.5),
        "p99_s": percentile(times, 0.99),
        "max_s": max(times) if times else None,
    }
    return {"kinds": rows, "total": total}


def paid_count(submissions):
    return sum(1 for s in submissions if s.final and s.final["status"] == "paid")


def summarize_refunds(refunds):
    rows = []
    for request in refunds:
        final = request.final or {}
        rows.append(
            {
                "refund": request.plan.name,
                "order_id": request.order_id,
                "refund_id": request.refund_id,
                "amount": final.get("amount", request.plan.amount),
                "expected_kind": request.plan.expected_kind,
                "kind": final.get("kind"),
                "status": final.get("status", "not final"),
                "http": request.http_statuses,
                "replayed": request.replayed,
                "seconds": seconds_to_final(final) if final else None,
                "ok": request.ok,
            }
        )
    return rows


def render_refunds(console, rows):
    table = Table(title="make demo: refunds (each asked twice with one Idempotency-Key)")
    for column in ("refund → kind", "order", "amount", "kind", "status", "replay marked", "s"):
        table.add_column(column, justify="left" if column in ("refund → kind", "order") else "right")
    for row in rows:
        table.add_row(
            f"{row['refund']} → {row['expected_kind']}", (row["order_id"] or "")[:8], row["amount"] or "all",
            row["kind"] or "-", row["status"], "yes" if row["replayed"] else "no", seconds(row["seconds"]),
        )
    console.print(table)


def seconds(value):
    return "-" if value is None else f"{value:.2f}"


def render(console, summary):
    table = Table(title="make demo: outcomes and time to final status (s)", )
    # review = needs_review, open = not final yet, odd = ended other than the kind should.
    table.add_column("kind → expected")
    for column in ("n", "paid", "failed", "review", "open", "odd", "p50", "p99", "max"):
        table.add_column(column, justify="right")
    for row in summary["kinds"]:
        table.add_row(
            f"{row['kind']} → {row['expected']}", str(row["orders"]), str(row["paid"]), str(row["failed"]),
            str(row["needs_review"]), str(row["not_final"]), str(row["unexpected"]),
            seconds(row["p50_s"]), seconds(row["p99_s"]), seconds(row["max_s"]),
        )
    total = summary["total"]
    table.add_section()
    table.add_row(
        "all", str(total["orders"]), "", "", "", str(total["orders"] - total["final"]), str(total["unexpected"]),
        seconds(total["p50_s"]), seconds(total["p99_s"]), seconds(total["max_s"]),
    )
    console.print(table)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}")
    parser.add_argument("--token", default=None)
    parser.add_argument("--rate", type=float, default=5.0, help="orders per second")
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for every order to be final")
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.orders < 1:
        parser.error("--rate must be positive and --orders at least 1")

    base_url = args.base_url.rstrip("/")
    # Wide enough for the summary table even where the terminal size is unknown (80 columns).
    console = Console(width=max(Console().width, 100))
    session = requests.Session()
    # The local stack, never a proxy (the SDK and the simulator have the same rule).
    session.trust_env = False
    session.headers["Authorization"] = f"Token {read_token(args.token)}"
    try:
        probe = session.get(f"{base_url}/api/orders/?page=1", timeout=5)
    except requests.RequestException:
        sys.exit(f"Nothing answers at {base_url}: start `make run` first.")
    if probe.status_code == 401:
        sys.exit("The API refused the token: was .run/demo-token written by this `make run`?")

    run_id = uuid.uuid4().hex[:8]
    orders = plan(args.orders, args.seed)
    submissions = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        sending = progress.add_task(f"submitting at {args.rate:g}/s", total=len(orders))
        settled = progress.add_task("final", total=len(orders))
        started = time.monotonic()
        pending = []
        next_poll = 0.0

        refunds = []
        refunding = progress.add_task("refunds", total=len(REFUND_PLANS))

        def poll():
            for submission in list(pending):
                if submission.order_id is None:
                    pending.remove(submission)
                    progress.advance(settled)
                    continue
                response = session.get(f"{base_url}/api/orders/{submission.order_id}/", timeout=10)
                if response.status_code == 200 and response.json()["status"] in FINAL:
                    submission.final = response.json()
                    pending.remove(submission)
                    progress.advance(settled)
                    if submission.kind.expected == "paid" and submission.final["status"] == "paid":
                        refund_next(submission)
            for request in refunds:
                if request.refund_id and request.final is None:
                    url = f"{base_url}/api/orders/{request.order_id}/refunds/{request.refund_id}/"
                    response = session.get(url, timeout=10)
                    if response.status_code == 200 and response.json()["status"] in FINAL_REFUND:
                        request.final = response.json()
                        progress.advance(refunding)

        def refund_next(submission):
            # Right after the sale was paid, long before a real settlement (and before the
            # simulator's few seconds): the full refund can still void it.
            if len(refunds) < len(REFUND_PLANS):
                refunds.append(refund(session, base_url, REFUND_PLANS[len(refunds)], submission.order_id, run_id))

        for index, (kind, amount) in enumerate(orders):
            # Paced from the start, so a slow answer does not lower the rate that follows.
            delay = started + index / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            submission = submit(session, base_url, kind, amount, run_id, index)
            submissions.append(submission)
            pending.append(submission)
            progress.advance(sending)
            if time.monotonic() >= next_poll:
                poll()
                next_poll = time.monotonic() + 1.0
        deadline = time.monotonic() + args.timeout

        def waiting():
            return pending or any(r.refund_id and r.final is None for r in refunds)

        while waiting() and time.monotonic() < deadline:
            poll()
            if waiting():
                time.sleep(0.5)

    summary = summarize(submissions)
    summary["refunds"] = summarize_refunds(refunds)
    render(console, summary)
    render_refunds(console, summary["refunds"])
    console.print("n: orders (a duplicate pair is two POSTs, one order); review: needs_review; open: not final; "
                  "odd: ended other than its kind should.")
    total = summary["total"]
    if args.json:
        print("DEMO_SUMMARY " + json.dumps(summary), flush=True)
    if total["final"] < total["orders"]:
        console.print(f"[red]{total['orders'] - total['final']} order(s) not final after {args.timeout:g} s[/red]")
        return 1
    if total["unexpected"]:
        console.print(f"[yellow]{total['unexpected']} order(s) ended other than their kind should[/yellow]")
        return 1
    odd_refunds = [r for r in summary["refunds"] if not r["ok"]]
    if odd_refunds or len(summary["refunds"]) < min(len(REFUND_PLANS), paid_count(submissions)):
        console.print(f"[red]{len(odd_refunds) or 'missing'} refund(s) not as planned (see the refunds table)[/red]")
        return 1
    console.print(f"[green]All {total['orders']} orders final, each as its kind should end; "
                  f"{len(summary['refunds'])} refund(s) succeeded as planned.[/green]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
