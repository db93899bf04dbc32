"""What a design did with the orders: every planned order against the ledger, matched by amount.

A design that never sends an order id to the gateway is judged the same way as one that does:
the amount of every order that should be paid is unique in the plan (`unique_amounts`), so it
names the order in the ledger.
"""

from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from devtools.stats import percentile
from payments.core.statuses import TRANSACTION_PAID_STATUSES

PAID_KINDS = ("approved", "duplicate")  # every other kind of the mix should end failed


def unique_amounts(plan):
    """Make the amount of every order that should be paid unique in the plan: it names the order in the ledger."""
    seen = set()
    for p in plan:
        if p.kind in PAID_KINDS:
            cents = int(Decimal(p.amount) * 100)
            while cents in seen:
                cents = cents + 1 if cents < 199999 else 100
            seen.add(cents)
            p.amount = f"{cents / 100:.2f}"


def mint_all(sim, plan):
    """Single-use nonces for every order of the mix that carries a card (as a client SDK would tokenize)."""
    wanted = [p for p in plan if p.kind not in ("consumed_nonce", "unknown_nonce")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for p, nonce in zip(wanted, pool.map(lambda _: sim.mint_nonce(), wanted)):
            p.nonce = nonce


def rnd(x):
    return None if x is None else round(x, 2)


def figures(entries, orders, ledger, web_log):
    """The design's row of the table and the details behind it.

    `entries`: the planned orders with their answers; `orders`: the design's orders by id;
    `ledger`: the simulator's transactions; `web_log`: the API's log during the pass.
    """
    ok_sales = [t for t in ledger if t.get("type") == "sale" and t.get("status") in TRANSACTION_PAID_STATUSES]
    by_amount = {Decimal(p.amount): p for p in entries if p.kind in PAID_KINDS}
    sales_of = defaultdict(list)
    unattributed = []
    for t in ok_sales:
        p = by_amount.get(Decimal(str(t["amount"])))
        (sales_of[p.index].append(t) if p else unattributed.append(t))
    paid_txns = {o["transaction_id"] for o in orders.values() if o["status"] == "paid"}
    submitted = accepted = 0
    refused_by, lost, wrong, ttf = Counter(), [], [], []
    charged_after_refusal = 0
    outcome_by_kind = defaultdict(Counter)
    for p in entries:
        if not p.responses:
            continue
        submitted += 1
        ids = [r["order_id"] for r in p.responses if r["order_id"]]
        if not ids:
            last = p.responses[-1]["status"]
            refused_by["connection error" if last is None else f"{last}"] += 1
            charged_after_refusal += bool(sales_of.get(p.index))
            continue
        accepted += 1
        o = orders.get(ids[0])  # the order id the client got first, and polls
        status = o["status"] if o else None
        outcome_by_kind[p.kind][str(status)] += 1
        if status is None:
            lost.append(ids[0])
            continue
        if o["final_at"] is not None:
            ttf.append((o["final_at"] - o["created_at"]).total_seconds())
        if status != ("paid" if p.kind in PAID_KINDS else "failed"):
            wrong.append({"order_id": ids[0], "kind": p.kind, "status": status,
                          "error_codes": ",".join(o["error_codes"] or []) or "-",
                          "charged": bool(sales_of.get(p.index))})
    # How the 5xx answers came about (the post's API does not catch a failed send).
    channel_full = min(web_log.count("channels.exceptions.ChannelFull"), refused_by.get("500", 0))
    if channel_full:
        refused_by["500"] -= channel_full
        refused_by["500 ChannelFull"] = channel_full
        refused_by = +refused_by  # drop a zero count
    double = {i: s for i, s in sales_of.items() if len(s) > 1}
    orphaned = [t for t in ok_sales if t["id"] not in paid_txns]
    row = {"submitted": submitted, "accepted": accepted, "refused": sum(refused_by.values()),
           "lost": len(lost), "double_charged": len(double), "orphaned": len(orphaned),
           "wrong_status": len(wrong), "p50_s": rnd(percentile(ttf, 0.5)), "p99_s": rnd(percentile(ttf, 0.99)),
           "max_s": rnd(max(ttf) if ttf else None)}
    extra = {"refused_by": dict(refused_by), "charged_after_refusal": charged_after_refusal,
             "successful_sales": len(ok_sales), "unattributed_sales": len(unattributed),
             "outcome_by_kind": {k: dict(v) for k, v in sorted(outcome_by_kind.items())},
             "lost_examples": lost[:10], "wrong_status_examples": wrong[:10],
             "wrong_status_by": dict(Counter(f"{w['kind']}->{w['status']} codes {w['error_codes']}"
                                             f"{' (charged)' if w['charged'] else ''}" for w in wrong)),
             "double_charged_examples": [[t["id"] for t in s] for s in list(double.values())[:10]],
             "orphaned_examples": [{"id": t["id"], "amount": t["amount"]} for t in orphaned[:10]],
             "api_answers": dict(Counter(str(r["status"]) for p in entries for r in p.responses))}
    return row, extra
