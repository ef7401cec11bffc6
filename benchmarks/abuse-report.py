#!/usr/bin/env python3
"""Turns the JSON lines of benchmarks/run-abuse.sh into a Markdown table of medians (one row per attack)."""
import argparse
import json
import os
import statistics

ap = argparse.ArgumentParser()
ap.add_argument("raw")
ap.add_argument("out")
for name in ("started", "finished", "reps", "note", "commit", "load", "relay-cmd", "load-cmd"):
    ap.add_argument("--" + name, default="")
a = ap.parse_args()

runs = {}
for line in open(a.raw, encoding="utf-8"):
    line = line.strip()
    if line:
        row = json.loads(line)
        key = row["attack"] + (f" ({row['variant']})" if row.get("variant") not in (None, "relay") else "")
        runs.setdefault(key, []).append(row)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ms(us):
    return "—" if us is None else f"{us / 1000:.1f}" if us >= 10000 else f"{us / 1000:.2f}"


def span(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return fmt(statistics.median(values)) + (f" ({fmt(min(values))}–{fmt(max(values))})" if len(values) > 1 else "")


lines = [
    f"# Abuse benchmark, {a.started[:10]}",
    "",
    "Honest clients while 5 abusive connections attack, each reconnecting as soon as it is cut (`benchmarks/run-abuse.sh`,",
    "issue 13). 20 honest pairs make 200 round trips per second in all (paced), one-hop latency measured; PeerRelay with",
    "its default settings, pinned to one CPU, the load generator to the other. Medians of the runs, (min–max) beside.",
    "",
    f"- commit: `{a.commit}`; {a.reps} repetitions, attacks interleaved; {a.started} to {a.finished}",
    f"- machine: {os.cpu_count()} CPUs; load average {a.load} (the benchmark's own relay and load generator count: about 2)",
    f"- relay: `{a.relay_cmd}`",
    f"- load: `{a.load_cmd}`",
]
if a.note:
    lines.append(f"- note: {a.note}")
lines += [
    "",
    "| attack | honest p99 before (ms) | honest p99 during (ms) | ratio | honest failures | abusers still registered | abuser connects | relay log lines | relay RSS after − before (MiB) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
]
for attack, rows in runs.items():
    results = [r["result"] for r in rows if r["result"]]
    failed = len(rows) - len(results)
    before = [r["baselineP99Us"] for r in results]
    during = [r["attackP99Us"] if r["attackHops"] else None for r in results]
    ratio = [d / b if b and d else None for b, d in zip(before, during)]
    rss = [((r.get("rssAfterKiB") or 0) - (r.get("rssBaselineKiB") or 0)) / 1024 for r in results]
    lines.append(
        f"| {attack} | {span(before, ms)} | {span(during, ms)} | {span(ratio, lambda v: f'{v:.1f}×')} | "
        f"{span([r['attackFailures'] for r in results], lambda v: f'{v:.0f}')} | "
        f"{span([r['abusersStillRegistered'] for r in results], lambda v: f'{v:.0f}')} | "
        f"{span([r['abuserConnects'] for r in results], lambda v: f'{v:.0f}')} | "
        f"{span([r['relayLogLines'] for r in rows], lambda v: f'{v:.0f}')} | "
        f"{span(rss, lambda v: f'{v:.1f}')} |"
        + (f" {failed} run(s) produced no result" if failed else ""))
lines += [
    "",
    "A failure is a round trip not answered within 1 s, an error answer, or an honest client closed. \"during\" is — when",
    "no honest message arrived at all during the attack. Abusers still registered: of the last 64 abuser UUIDs, how",
    "many the relay still delivered to 3 s after the attack stopped. Raw figures, one JSON line per run: "
    f"`{os.path.basename(a.raw)}`.",
    "",
]
with open(a.out, "w", encoding="utf-8") as f:
    f.write("\n".join(lines))
