"""The results of a bench run: medians, shares of the floor, targets; as JSON, Markdown and PNG."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def summarise(
    scenarios: list[Any], missing: dict[str, str], p99_target: float, meta: dict[str, object]
) -> dict[str, Any]:
    """Medians per scenario, each as a share of the floor measured in the same run."""
    floor = next(s for s in scenarios if s.server == "floor")
    floor_rps = statistics.median(r["rps"] for r in floor.runs)
    rows = []
    for s in scenarios:
        row: dict[str, Any] = {"id": s.id, "title": s.title, "runs": s.runs}
        row["target_share"] = s.target_share
        row["target_p99_ms"] = p99_target if s.read else None
        lacking = [missing[n] for n in s.needs if n in missing]
        if lacking:
            row["status"] = "not available: " + "; ".join(lacking)
            rows.append(row)
            continue
        rps = statistics.median(r["rps"] for r in s.runs)
        row |= {
            "rps": round(rps, 1),
            "share_of_floor": round(rps / floor_rps, 4),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in s.runs), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in s.runs), 2),
            "errors": int(sum(r["errors"] for r in s.runs)),
            "server_cpu_us": round(statistics.median(r["server_cpu_us"] for r in s.runs)),
        }
        rows.append(row)
    cpu = {row["id"]: row.get("server_cpu_us") for row in rows}
    for s, row in zip(scenarios, rows, strict=True):
        if "server_cpu_us" not in row:
            continue
        if s.cpu_within and cpu.get(s.cpu_within[0]):
            row["cpu_limit_us"] = round(cpu[s.cpu_within[0]] * s.cpu_within[1])
            row["cpu_within"] = f"CPU ≤ {s.cpu_within[1]:.2f} x {s.cpu_within[0]}'s"
        row["status"] = _verdict(row)
    loads = [r["loadavg"] for s in scenarios for r in s.runs]
    meta = {**meta, "loadavg_range": [min(loads), max(loads)]}
    return {"meta": meta, "floor_rps": round(floor_rps, 1), "scenarios": rows}


def _verdict(row: dict[str, Any]) -> str:
    failed = []
    if row["target_share"] is not None and row["share_of_floor"] < row["target_share"]:
        failed.append(f"share < {row['target_share']:.0%}")
    if row["target_p99_ms"] is not None and row["p99_ms"] >= row["target_p99_ms"]:
        failed.append(f"p99 >= {row['target_p99_ms']:.0f} ms")
    if "cpu_limit_us" in row and row["server_cpu_us"] > row["cpu_limit_us"]:
        failed.append(f"CPU > {row['cpu_limit_us']} us")
    if row["errors"]:
        failed.append("errors")
    if failed:
        return "NOT MET: " + ", ".join(failed)
    has_target = (
        row["target_share"] is not None or row["target_p99_ms"] is not None or "cpu_limit_us" in row
    )
    return "met" if has_target else "met (zero errors)"


def markdown(results: dict[str, Any]) -> str:
    """The table the README quotes."""
    meta = results["meta"]
    lines = [
        f"Run of {meta['date']} on {meta['machine']}; commit {meta['commit']}; "
        f"{meta['workers']} workers, {meta['connections']} connections, "
        f"{meta['runs']} runs of {meta['duration_s']} s per scenario (medians); "
        f"load average {meta['loadavg_range'][0]:.1f}-{meta['loadavg_range'][1]:.1f} "
        "when measurements started.",
        "",
        "| # | scenario | req/s | share of floor | target | p50 ms | p99 ms | errors "
        "| server CPU µs/req | status |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in results["scenarios"]:
        targets = []
        if row["target_share"] is not None:
            targets.append(f"≥ {row['target_share']:.0%}")
        if row["target_p99_ms"] is not None:
            targets.append(f"p99 < {row['target_p99_ms']:.0f} ms")
        if "cpu_within" in row:
            targets.append(row["cpu_within"])
        target = ", ".join(targets) or "-"
        if "rps" not in row:
            lines.append(f"| {row['id']} | {row['title']} | - | - | {target} | - | - | - | - | "
                         f"{row['status']} |")  # fmt: skip
            continue
        lines.append(
            f"| {row['id']} | {row['title']} | {row['rps']:,.0f} | {row['share_of_floor']:.1%} "
            f"| {target} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} "
            f"| {row['server_cpu_us']} | {row['status']} |"
        )
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    """Throughput per scenario as a share of the floor, with each target marked."""
    rows = results["scenarios"]
    labels = [f"{r['id']}. {r['title']}" for r in rows]
    shares = [100 * r.get("share_of_floor", 0) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.5))
    bars = ax.barh(labels, shares, color=["#4c78a8" if "rps" in r else "#cccccc" for r in rows])
    for bar, row in zip(bars, rows, strict=True):
        y = bar.get_y() + bar.get_height() / 2
        text = f"{row['share_of_floor']:.0%}  ({row['rps']:,.0f} req/s)" if "rps" in row else (
            "not available")  # fmt: skip
        ax.text(bar.get_width() + 1, y, text, va="center", fontsize=9)
        if row["target_share"] is not None:
            x = 100 * row["target_share"]
            ax.plot([x, x], [y - 0.4, y + 0.4], color="#e45756", linewidth=2)
    ax.invert_yaxis()
    ax.set_xlim(0, 140)  # room for the floor's own label
    ax.set_xlabel("requests/s as % of the floor (red: target)")
    ax.set_title(f"Shelf bench, {results['meta']['date']} ({results['meta']['machine']})",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(results: dict[str, Any], stem: Path) -> None:
    """`<stem>.json`, `<stem>.md` and `<stem>.png`."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    Path(f"{stem}.md").write_text(markdown(results))
    chart(results, Path(f"{stem}.png"))
