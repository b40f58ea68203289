"""Draws the recall/QPS curves of `bench-results/vector.json` as a PNG.

Usage: plot_recall_qps.py VECTOR_JSON OUT_PNG

Every result row with `curve` in its params is one point: params `dataset`,
`system`, `recall_at_10` and the row's value (single-thread queries/s, one
query per call); where a row also has `batch_qps` (hnswlib: all queries in
one call, one thread) that is drawn as a dashed line of its own.
One panel per dataset, one line per system, QPS on a log scale.
"""

import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    source, out = sys.argv[1], sys.argv[2]
    with open(source) as f:
        report = json.load(f)
    curves = defaultdict(lambda: defaultdict(list))
    for row in report["results"]:
        p = row.get("params", {})
        if not p.get("curve"):
            continue
        curves[p["dataset"]][p["system"]].append((p["recall_at_10"], row["value"]))
        if p.get("batch_qps"):
            batch = p["system"] + " (one batch call)"
            curves[p["dataset"]][batch].append((p["recall_at_10"], p["batch_qps"]))
    if not curves:
        sys.exit("no curve points in " + source)
    datasets = sorted(curves)
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for system in sorted(curves[dataset]):
            points = sorted(curves[dataset][system])
            ax.plot(
                [r for r, _ in points],
                [q for _, q in points],
                marker="o",
                markersize=3,
                linestyle="--" if system.endswith("(one batch call)") else "-",
                label=system,
            )
        ax.set_title(dataset)
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries/s, one thread")
        ax.set_yscale("log")
        ax.axvline(0.95, color="grey", linestyle=":", linewidth=1)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    machine = report.get("machine", {})
    fig.suptitle(
        f"mnemo-vector vs peers ({report.get('git', '')}, "
        f"{machine.get('cpus', '?')} × {machine.get('model', '?')})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
