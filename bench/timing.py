"""Wall-clock timing for the benchmark scripts (run as `python bench/<name>.py`)."""

import time


def timed(fn):
    """Call `fn()`; return its result and the seconds it took."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start
