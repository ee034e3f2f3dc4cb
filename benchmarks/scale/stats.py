"""Percentiles and number formatting for the report."""

import array
import base64


def decode(b64):
    a = array.array("d")
    a.frombytes(base64.b64decode(b64))
    return a


def percentile(sorted_values, q):
    """Nearest-rank percentile of an already sorted sequence (None if empty)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary(values):
    v = sorted(values)
    return {"n": len(v), "min": v[0] if v else None, "p50": percentile(v, 50),
            "p99": percentile(v, 99), "max": v[-1] if v else None}


def ms(seconds):
    return "-" if seconds is None else "%.1f ms" % (seconds * 1000.0)


def mib(n):
    return "-" if n is None else "%.1f MiB" % (n / 1048576.0)


def kib(n):
    return "-" if n is None else "%.2f KiB" % (n / 1024.0)
