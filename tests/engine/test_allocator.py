"""The allocator policy: large allocations come from the heap and stay there when freed, unless the user
set glibc's malloc tunables."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Run in a child process, as the policy is process-wide: allocate 64 MiB, read glibc's counters, free it.
PROBE = """
import ctypes, json
import numpy as np
from msimg.engine.allocator import keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
applied = keep_freed_memory()
mapped_before = libc.mallinfo2().hblkhd
block = np.ones(64 << 20, np.uint8)
mapped = libc.mallinfo2().hblkhd - mapped_before
del block
print(json.dumps({"applied": applied, "mapped": mapped, "free_in_heap": libc.mallinfo2().fordblks}))
"""

MIB = 1 << 20


def _probe(tunables: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc policy")
def test_large_blocks_come_from_the_heap_and_stay_after_free() -> None:
    try:
        kept = _probe(None)
    except subprocess.CalledProcessError as err:
        if "mallinfo2" in err.stderr or "libc.so.6" in err.stderr:
            pytest.skip("not glibc 2.33 or later")
        raise
    assert kept["applied"] and kept["mapped"] < MIB and kept["free_in_heap"] >= 64 * MIB
    # the user's own malloc tunables (here the mmap limit, which also fixes the threshold) are left alone
    default = _probe("glibc.malloc.mmap_max=65536")
    assert not default["applied"] and default["mapped"] >= 64 * MIB and default["free_in_heap"] < 64 * MIB
