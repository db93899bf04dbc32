"""One percentile definition for every figure the tests and benchmarks quote."""

import math


def percentile(values, q):
    """The nearest-rank `q`-quantile (0 < q <= 1) of `values`; None when there are none.

    Nearest rank, not linear interpolation: the figure is always a value that was observed (the
    p99 of 60 latencies is the 60th, the slowest one), and it is the same on any list order.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
