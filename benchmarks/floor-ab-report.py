"""The report of benchmarks/run-floor-ab.sh, from its raw lines (JSON, one window each):

    python3 benchmarks/floor-ab-report.py RAW.jsonl floor NAME...

Per case and figure (CPU, its kernel and user parts, p50 and p99, RSS per client): each server's median, and each variant's ratio to the floor as the ratio of the medians, then in
brackets the median of each repetition's own ratio (which the VM's drift between repetitions moves less) and, from four
repetitions on, their interquartile range and in how many repetitions the variant was above the floor. A `--curve` run's
windows are cases of their own (NAME@1 ... NAME@K). A run with `--trace` adds the server's own part of a message's one
hop (benchmarks/server-path.py: from epoll_wait's return to the forward's send), its p50 and p99, the medians of its
parts (the dispatch to the connection, the recv, parsing and routing) and of the work after the send. A run with
`--control` has a second floor (`floor2`) among the
variants: its ratios are what the floor measured against itself, the noise the others' ratios are read against.

Below the table, for each forward case, the verdict on the one-hop p99 (docs/performance.md, "How the p99 is judged"),
from ten paired repetitions on: each variant's median paired ratio to the floor with a 90 % confidence interval
(bootstrap); worse than the floor when the whole interval lies above 1.00, else no worse, with the interval's upper end
as how far above the floor's p99 it can be.
"""

import json
import statistics
import sys

import p99_verdict

FIGURES = [
    ("serverCpuPerUnitUs", "CPU/unit µs"),
    ("serverSystemPerUnitUs", "kernel/unit µs"),
    ("userPerUnitUs", "user/unit µs"),
    ("latencyP50Us", "p50 µs"),
    ("latencyP99Us", "p99 µs"),
    ("rssPerClientKiB", "RSS/client KiB"),
    # --trace: the server's own part of a message's one hop (server-path.py), from epoll_wait's return to the send.
    ("path:wait→send:p50Us", "server path p50 µs"),
    ("path:wait→send:p99Us", "server path p99 µs"),
    # ... and its parts' medians: where a gap in it is (the dispatch, the kernel's receive, parsing and routing), and the
    # work after the send that no message waits for.
    ("path:wait→recv:p50Us", "· dispatch p50 µs"),
    ("path:recv:p50Us", "· recv p50 µs"),
    ("path:recv→send:p50Us", "· parse and route p50 µs"),
    ("path:send→wait:p50Us", "after the send p50 µs"),
]


def value(row, key):
    if key.startswith("path:"):
        _, part, stat = key.split(":")
        return ((row.get("path") or {}).get("parts") or {}).get(part, {}).get(stat)
    result = row["result"]
    if key == "userPerUnitUs" and result and result.get("serverUserMs") is not None and result.get("units"):
        # The user-space part, where builds of the relay differ (the kernel's is the floor's): ms per window → µs per unit.
        return result["serverUserMs"] * 1000 / result["units"]
    if not result or result.get(key) is None:
        return None
    if key == "rssPerClientKiB" and row.get("resident"):
        return None  # a long-running server reuses what earlier windows grew: not a figure per client
    return result[key]


def ratio_cell(variant, floor):
    """The ratio of the medians, and in brackets the paired ratios' median (and IQR from 4 pairs)."""
    floor_median = statistics.median(floor.values()) if floor else 0
    if not variant or not floor_median:
        return "–"  # nothing to divide by (no floor figure, or a floor of 0: a kernel time too small to count)
    of_medians = statistics.median(variant.values()) / floor_median
    paired = sorted(p99_verdict.paired(variant, floor))
    if not paired:
        return f"{of_medians:.2f}×"
    inner = f"{statistics.median(paired):.2f}×"
    if len(paired) >= 4:
        low, _, high = statistics.quantiles(paired, n=4)
        above = sum(1 for r in paired if r > 1)
        inner += f", IQR {low:.2f}–{high:.2f}×, above in {above} of {len(paired)}"
    return f"{of_medians:.2f}× ({inner})"


def p99_verdicts(case, servers, values):
    """Lines judging the one-hop p99 of each variant against the floor (p99_verdict.py)."""
    floor = values(case, "floor", "latencyP99Us")
    lines = []
    for server in servers[1:]:
        if ratios := p99_verdict.paired(values(case, server, "latencyP99Us"), floor):
            lines.append(f"- {case}, {server}: {p99_verdict.judge(ratios)[1]}")
    return lines


def main(raw, servers):
    rows = [json.loads(line) for line in open(raw, encoding="utf-8") if line.strip()]
    cases = list(dict.fromkeys(r["case"] for r in rows))

    def values(case, server, key):
        return {r["rep"]: v for r in rows if r["case"] == case and r["server"] == server and (v := value(r, key)) is not None}

    print(f"raw: {raw}")
    print("(÷ floor: the ratio of the medians; in brackets the median of each repetition's own ratio, which the VM's "
          "drift between repetitions moves less, and from four repetitions on the interquartile range of those ratios and "
          "in how many repetitions the variant was above the floor)")
    print("| case | figure | " + " | ".join(servers) + " | " + " | ".join(f"{s} ÷ floor" for s in servers[1:]) + " |")
    print("|---|---|" + "---|" * (2 * len(servers) - 1))
    for case in cases:
        for key, label in FIGURES:
            if key in ("latencyP50Us", "latencyP99Us") and not case.startswith("forward"):
                continue
            if key == "rssPerClientKiB" and not case.startswith("connect"):
                continue
            per = [values(case, s, key) for s in servers]
            medians = [statistics.median(v.values()) if v else None for v in per]
            if all(m is None for m in medians):
                continue
            cells = ["–" if m is None else f"{m:.2f}" for m in medians]
            ratios = [ratio_cell(v, per[0]) for v in per[1:]]
            print(f"| {case} | {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    verdicts = [line for case in cases if case.startswith("forward") for line in p99_verdicts(case, servers, values)]
    if verdicts:
        print()
        print("p99 one hop against the floor: the median of the paired ratios and its 90 % confidence interval (bootstrap);"
              " worse when the whole interval is above 1.00 (a control floor2 shows what a second floor gets):")
        print("\n".join(verdicts))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: floor-ab-report.py RAW.jsonl floor NAME...")
    main(sys.argv[1], sys.argv[2:])
