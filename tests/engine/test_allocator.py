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


def _child(probe: str, variable: str, value: str | None) -> dict:
    """`probe`'s JSON line from a child process with the environment `variable` unset or `value`."""
    env = {k: v for k, v in os.environ.items() if k != variable}
    if value is not None:
        env[variable] = value
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _probe(tunables: str | None) -> dict:
    return _child(PROBE, "GLIBC_TUNABLES", tunables)


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


# Torch's large tensors on huge pages: whether the kernel may back a 64 MiB tensor with them (smaps'
# THPeligible for the mapping that holds it), with the policy and with the user's own choice.
HUGE_PROBE = """
import json
from msimg.engine.allocator import torch_huge_pages

applied = torch_huge_pages()
import torch

block = torch.ones(16 << 20)
address, eligible = block.data_ptr(), None
with open("/proc/self/smaps") as smaps:
    inside = False
    for line in smaps:
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            start, end = (int(x, 16) for x in head.split("-"))
            inside = start <= address < end
        elif inside and head == "THPeligible:":
            eligible = line.split()[1] == "1"
print(json.dumps({"applied": applied, "eligible": eligible}))
"""


def _huge_probe(user: str | None) -> dict:
    return _child(HUGE_PROBE, "THP_MEM_ALLOC_ENABLE", user)


def _thp_mode() -> str | None:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return f.read().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        return None


@pytest.mark.skipif(_thp_mode() != "madvise", reason="huge pages only where a process asks for them")
def test_large_tensors_may_take_huge_pages_unless_the_user_said_no() -> None:
    asked = _huge_probe(None)
    assert asked == {"applied": True, "eligible": True}
    assert _huge_probe("0") == {"applied": False, "eligible": False}
