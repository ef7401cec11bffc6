"""The server's own part of a one-hop latency, from its system calls (what `benchmarks/run-floor-ab.sh --trace` records):

    perf script --ns -F tid,time,event,trace -i TRACE.data | python3 benchmarks/server-path.py NAME [FILE]

reads `raw_syscalls:sys_enter`/`sys_exit` lines of the server's busiest thread (the event loop) and, for every message
it forwards, measures from the moment `epoll_wait` returned to the moment the `sendto` that forwards it was entered:
what the server adds to a message's one hop between the kernel waking it and the kernel taking the message, the only
part a server's code decides (the kernel's part, and the load generator's, are the same for every server). Split into
`wait→recv` (the loop's dispatch to the connection: from `epoll_wait`'s return to the `recvfrom` of the first
message), `recv` (the forward's `recvfrom` itself, entry to return: the kernel's copy into the server's buffer) and
`recv→send` (receiving's return to the forward's send: framing, parsing, routing); `send→wait` (after the send, back to
the next `epoll_wait`) is work that a message in flight does not wait for. A turn that forwards no
message (a wake-up that receives nothing) is not counted. Prints one JSON line: per part, the count and the p50, p90,
p99 and mean in microseconds. The times include the tracing's own cost (about 1 µs per system call's exit and the next
one's entry, the same for every server); compare servers traced the same way, not these figures with untraced ones.
"""

import json
import re
import statistics
import sys

LINE = re.compile(r"\s*(\d+)\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit):\s+NR (\d+)")
EPOLL_WAIT = {232, 281}  # epoll_wait, epoll_pwait
RECVFROM = 45
SENDTO = 44


def parse(lines):
    """(tid, µs, 'enter'|'exit', syscall number) per event."""
    for line in lines:
        m = LINE.match(line)
        if m:
            yield int(m[1]), float(m[2]) * 1e6, m[3], int(m[4])


def measure(events):
    """The parts of each forwarded message on the busiest thread: {part: [µs, ...]}."""
    per_thread = {}
    for event in events:
        per_thread.setdefault(event[0], []).append(event[1:])
    if not per_thread:
        return {}
    loop = max(per_thread.values(), key=len)
    parts = {"wait→recv": [], "recv": [], "recv→send": [], "wait→send": [], "send→wait": []}
    woke = receiving = received = sent = None  # receiving, received: the last recvfrom's entry and return.
    dispatched = False  # The turn's first recvfrom was seen.
    for at, kind, nr in loop:
        if kind == "exit" and nr in EPOLL_WAIT:
            woke, received, dispatched = at, None, False
        elif kind == "enter" and nr == RECVFROM:
            receiving = at
            if woke is not None and not dispatched:
                dispatched = True
                parts["wait→recv"].append(at - woke)
        elif kind == "exit" and nr == RECVFROM:
            received = at
        elif kind == "enter" and nr == SENDTO and received is not None:
            if receiving is not None:
                parts["recv"].append(received - receiving)
            parts["recv→send"].append(at - received)
            if woke is not None:
                parts["wait→send"].append(at - woke)
                woke = None  # The first forward of the turn: later ones waited for the earlier ones too.
            received = None
        elif kind == "exit" and nr == SENDTO:
            sent = at
        elif kind == "enter" and nr in EPOLL_WAIT:
            if sent is not None:
                parts["send→wait"].append(at - sent)
            sent = received = None
    return parts


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(parts):
    return {
        part: {
            "count": len(values),
            "p50Us": round(quantile(values, 0.50), 3),
            "p90Us": round(quantile(values, 0.90), 3),
            "p99Us": round(quantile(values, 0.99), 3),
            "meanUs": round(statistics.mean(values), 3),
        }
        for part, values in parts.items()
        if values
    }


def main(name, source):
    print(json.dumps({"server": name, "parts": summary(measure(parse(source)))}, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: perf script --ns -F tid,time,event,trace -i TRACE | server-path.py NAME [FILE]")
    if len(sys.argv) == 3:
        with open(sys.argv[2], encoding="utf-8") as trace:
            main(sys.argv[1], trace)
    else:
        main(sys.argv[1], sys.stdin)
