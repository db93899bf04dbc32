"""The chaos run's report on stdout (the JSON holds the same and more)."""

import json
import sys
from collections import Counter

from bench.chaos.checks import FREEZE_DETECTION_BOUND
from bench.chaos.faults import FAULT_KINDS
from bench.chaos.supervision import CHAOS as PROBES


def fmt_s(x):
    return "-" if x is None else f"{x:.1f}s"


# What the report shows of each fault the supervisor has to answer (the JSON holds every detail).
SUPERVISION_FAULT_DETAILS = {
    "kill_child_at_startup": ("pid", "killed_relative_to_ready_seconds", "worker_lost_error", "main_alive_3s_later"),
    "freeze_pool": ("pid",),
}


def restart_line(restart):
    """One supervisor restart: which process, why (`exit` with its code, or `liveness: <reason>`), when."""
    if restart["cause"] == "exit":
        cause = f"exit (code {restart['exit_code']}): {restart['reason'][:120]}"
    else:
        cause = f"{restart['cause']}: {restart['reason'][:120]}"
    line = f"  {restart['process']:<17} at {restart['at']}s  {cause}"
    if restart.get("restart_error"):
        line += f"  [not restarted: {restart['restart_error'][:80]}]"
    return line + "\n"


def print_restarts(restarts, w):
    by_cause = Counter(r["cause"] for r in restarts)
    summary = ", ".join(f"{cause} {n}" for cause, n in sorted(by_cause.items())) or "none"
    w(f"\nSupervisor restarts (as systemd/Kubernetes would: on exit, on {PROBES.failure_threshold} failed "
      f"liveness probes): {len(restarts)} ({summary})\n")
    for restart in restarts[:10]:
        w(restart_line(restart))


def print_report(result, out=sys.stdout):
    w = out.write
    w("\nInvariants\n")
    for key, item in result["invariants"].items():
        verdict = "PASS" if item["passed"] else "FAIL"
        w(f"  {key}  {verdict}  checked {item['checked']:>5}  violations {len(item['violations']):>3}  {item['name']}\n")
        if item.get("restarted_after_seconds"):
            w("           restarted " + ", ".join(f"{x:g}s" for x in item["restarted_after_seconds"])
              + f" after the freeze ({len(item['later_than_bound'])} later than {FREEZE_DETECTION_BOUND:g}s)\n")
        if item.get("ended_by_a_broker_fault"):
            w(f"           {len(item['ended_by_a_broker_fault'])} freeze(s) ended by a broker fault's reconnect first"
              " (nothing left waiting for the probe to see)\n")
        if item.get("by_category"):
            w(f"           {item['orders_affected']} orders; " + ", ".join(f"{c}: {n}" for c, n in item["by_category"].items()) + "\n")
    w("\nFaults injected\n")
    planned = Counter(e["kind"] for e in result["faults"]["events"])
    for kind in FAULT_KINDS:
        if planned.get(kind):
            w(f"  {kind:<18} {result['faults']['injected'].get(kind, 0):>3} / {planned[kind]}\n")
    for event in result["faults"]["events"]:
        if event.get("ok") and event["kind"] in SUPERVISION_FAULT_DETAILS:
            w(f"    {event['kind']} at {event['at']}s: " + ", ".join(
                f"{key} {event.get(key)}" for key in SUPERVISION_FAULT_DETAILS[event["kind"]]) + "\n")
    print_restarts(result.get("supervisor_restarts") or [], w)
    w("\nOrders by final status\n")
    for status, n in sorted(result["orders"]["by_status"].items()):
        w(f"  {status:<13} {n:>5}\n")
    w(f"  {'total':<13} {result['orders']['in_database']:>5}  (planned {result['orders']['planned']}, "
      f"submissions {result['orders']['submissions']})\n")
    w("\nBy order kind\n")
    for kind, counts in result["orders"]["by_kind"].items():
        w(f"  {kind:<15} " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())) + "\n")
    saved = result["orders"].get("saved_card") or {}
    if saved.get("orders"):
        w(f"  {'on saved cards':<15} {saved['orders']} orders: "
          + ", ".join(f"{s} {n}" for s, n in sorted(saved["by_status"].items())) + "\n")
    manual = result.get("manual_capture") or {}
    if manual.get("orders"):
        w(f"  {'manual capture':<15} {manual['orders']} orders: "
          + ", ".join(f"{s} {n}" for s, n in manual["by_status"].items())
          + "; asked " + ", ".join(f"{s} {n}" for s, n in manual["scenarios"].items())
          + "; answers " + ", ".join(f"{s} {n}" for s, n in manual["answers"].items()) + "\n")
    t = result["time_to_terminal_seconds"]
    w(f"\nTime to terminal state  p50 {fmt_s(t['p50'])}  p99 {fmt_s(t['p99'])}  max {fmt_s(t['max'])}  "
      f"(n={t['count']})\n")
    by_fault = result.get("time_to_terminal_by_fault") or {}
    if by_fault:
        w("  of the orders each kind of fault hit (a kill: those its worker held):\n")
        for kind, f in by_fault.items():
            w(f"    {kind:<22} p50 {fmt_s(f['p50']):>7}  p99 {fmt_s(f['p99']):>7}  max {fmt_s(f['max']):>7}"
              f"  (n={f['orders']})\n")
    memory = result.get("memory_mib") or {}
    if memory.get("start") and memory.get("end"):
        w("Memory (RSS MiB, start -> end): " + ", ".join(
            f"{name} {memory['start'].get(name, '-')} -> {memory['end'].get(name, '-')}" for name in memory["end"]) + "\n")
    a = result["api"]
    w(f"API answers {a['answers']}  latency p50 {fmt_s(a['latency_p50'])} p99 {fmt_s(a['latency_p99'])} "
      f"max {fmt_s(a['latency_max'])}  status mismatches with DB: {a['status_mismatch_count']}\n")
    g = result["gateway"]
    w(f"Gateway ledger: {g['ledger_entries']} entries, {g['sales']} sales, {g['successful_sales']} successful\n")
    for key, item in result["invariants"].items():
        for x in item["violations"][:5]:
            w(f"  {key} violation: {json.dumps(x, default=str)[:400]}\n")
    verdict = "FAIL" if not result["passed"] else ("PASS" if result["complete"] else "INCOMPLETE")
    w(f"\nResult: {verdict}  (quiet={result['quiet']}, complete={result['complete']}, "
      f"{result['elapsed_seconds']:.0f}s total, run dir {result['run_dir']})\n")
