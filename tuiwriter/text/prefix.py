"""Where two texts first differ, found at C speed: on the keystroke path a Python loop over a
long document's characters would cost milliseconds."""

from __future__ import annotations


def common_prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix, by C-speed slice compares (no Python char loop)."""
    n = min(len(a), len(b))
    if a.startswith(b[:n]) if len(b) <= len(a) else b.startswith(a):
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi+1] != b[:hi+1]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a.startswith(b[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    return lo
