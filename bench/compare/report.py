"""The comparison's report: the table on stdout, then the JSON, its details and the chart beside --out."""

import json
import sys
from pathlib import Path

COLUMNS = ("submitted", "accepted", "refused", "lost", "double_charged", "orphaned", "wrong_status",
           "p50_s", "p99_s", "max_s", "orders_per_s_0ms", "orders_per_s_200ms", "cpu_ms_per_order")


def markdown_table(rows):
    head = "| design | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for r in rows:
        lines.append(f"| {r['name']} | " + " | ".join("-" if r.get(c) is None else str(r[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    harms = ("refused", "lost", "double_charged", "orphaned", "wrong_status")
    width = 0.8 / len(names)
    for i, r in enumerate(rows):
        axes[0].bar([k + i * width for k in range(len(harms))], [r[h] for h in harms], width, label=r["name"])
    axes[0].set_xticks([k + width * (len(names) - 1) / 2 for k in range(len(harms))], harms, rotation=20)
    axes[0].set_title("orders harmed under the same faults")
    axes[0].legend()
    for i, key in enumerate(("orders_per_s_0ms", "orders_per_s_200ms")):
        axes[1].bar([k + i * 0.4 for k in range(len(names))], [r[key] or 0 for r in rows], 0.4,
                    label=key.replace("orders_per_s_", "gateway latency "))
    axes[1].set_xticks([k + 0.2 for k in range(len(names))], names)
    axes[1].set_title("fault-free orders/s")
    axes[1].legend()
    axes[2].bar(names, [r["cpu_ms_per_order"] or 0 for r in rows], color="grey")
    axes[2].set_title("machine CPU ms per order (0 ms latency)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_report(result, out=sys.stdout):
    report, details = result["report"], result["details"]
    out.write("\n" + markdown_table(report["designs"]) + "\n\n")
    if report.get("saved_designs"):
        # The same stream with the card orders on saved cards: a resale is a real second charge.
        out.write("saved-card stream (vault tokens, reusable):\n" + markdown_table(report["saved_designs"]) + "\n\n")
    for name, d in details["designs"].items():
        out.write(f"{name}: refused by {d['refused_by']}, charged after refusal {d['charged_after_refusal']}, "
                  f"wrong status {d['wrong_status_by']}, unexpected exits {len(d['unexpected_exits'])}, "
                  f"quiet {d['quiet']} after {d['quiet_seconds']}s\n")
    verdict = "PASS" if result["passed"] else "FAIL"
    out.write(f"\npayments: {verdict} (0 lost, 0 double charged, 0 orphaned required, in both streams); "
              f"{result.get('elapsed_seconds', 0):.0f}s; run dir {details['run_dir']}\n{result['command']}\n")


def write_files(result, out=sys.stdout):
    """--out: the report as JSON, `.details.json` and the chart `.png` beside it."""
    if not result.get("out"):
        return
    report, details = result["report"], result["details"]
    path = Path(result["out"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    path.with_suffix(".details.json").write_text(json.dumps(details, indent=2, default=str))
    if report["designs"]:
        chart(report["designs"], path.with_suffix(".png"))
    out.write(f"wrote {path}, {path.with_suffix('.details.json')}, {path.with_suffix('.png')}\n")
