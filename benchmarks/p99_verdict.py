"""How the one-hop p99 target of issue 17 ("no worse than the floor's") is judged, shared by floor-ab-report.py and
loopback-targets.py (docs/performance.md, "How the p99 is judged").

A window's p99 moves by ±10 % between windows of one server on this machine (two cross-CPU wake-ups of a VM's halted
vCPUs per hop make most of it), far more than a server's own part of a hop. So the p99 is judged from the paired ratios
of many repetitions (each repetition's figure divided by the floor's of the same repetition): their median, with a 90 %
confidence interval of that median (bootstrap, fixed seed). A server is worse than the floor when the whole interval
lies above 1.00; otherwise it is no worse, and the interval's upper end says how far above the floor's p99 its own can
be. Fewer than MIN_PAIRS repetitions are too few to judge either way.
"""

import random
import statistics

MIN_PAIRS = 10


def paired(variant, floor):
    """Each repetition's figure divided by the floor's from the same repetition ({rep: value} each; a repetition the
    floor has no figure for, or a figure of 0, is left out)."""
    return [v / floor[rep] for rep, v in variant.items() if floor.get(rep)]


def median_interval(ratios, level=0.90, resamples=2000):
    """A bootstrap confidence interval of the median of ratios (fixed seed: the same figures, the same interval)."""
    rng = random.Random(17)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    tail = (1 - level) / 2
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1 - tail) * resamples))]


def judge(ratios):
    """(met, text) for a server's paired p99 ratios to the floor; met is None when there are too few to judge."""
    if len(ratios) < MIN_PAIRS:
        count = f"{len(ratios)} paired repetition" + ("" if len(ratios) == 1 else "s")
        return None, f"{count}, too few to judge (at least {MIN_PAIRS})"
    median = statistics.median(ratios)
    low, high = median_interval(ratios)
    figures = f"median paired ratio {median:.3f}× (90 % CI {low:.3f}–{high:.3f}×, {len(ratios)} pairs)"
    if low > 1:
        return False, f"{figures}: **worse than the floor** (at least {100 * (low - 1):.1f} % above)"
    return True, f"{figures}: no worse than the floor (at most {100 * max(0.0, high - 1):.1f} % above)"
