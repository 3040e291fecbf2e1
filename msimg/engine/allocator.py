"""The C allocator's policy for a run: keep freed memory for the next allocation instead of returning it.

glibc's malloc serves a request above its mmap threshold (at most 32 MiB) with fresh pages from the
kernel and returns them on free. Eager torch allocates every feature map of every window anew, and at
the window sizes the engine runs (a 608x608 window of 40 channels is 59 MB) each one is page-faulted and
zeroed by the kernel again: a 6 MP denoise spent 40 % of its CPU time in the kernel. Served from the
heap and kept there after `free`, the same memory is reused window after window (BENCHMARKS.md, "Where
the time goes"). The cost is a higher resident size: memory freed at the peak is kept.

Applied by the command line and the Ray workers, which own their processes; a library caller's process
is left as it is. A user's own `GLIBC_TUNABLES` malloc settings win.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_KEEP = 2**31 - 1  # mallopt takes an int: keep up to 2 GiB of free memory at the top of the heap


def keep_freed_memory() -> bool:
    """Serve every allocation from the heap and keep what is freed; True if applied (glibc on Linux)."""
    if not sys.platform.startswith("linux") or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # another C library (musl), whose malloc works otherwise
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP))
