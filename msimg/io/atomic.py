"""Atomic file writes: a temporary file in the target folder, fsync, then rename.

A reader never sees a half-written output, and an interrupted run leaves at most a temp file whose name
says which process made it, so the next run can remove it safely.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

_TEMP_RE = re.compile(r"^\..+\.(\d+)\.msimg-tmp$")


def temp_path_for(path: Path) -> Path:
    """The temp file used while writing `path`: hidden, in the same folder, tagged with our pid."""
    return path.with_name(f".{path.name}.{os.getpid()}.msimg-tmp")


def is_temp_file(path: Path) -> bool:
    return _TEMP_RE.match(path.name) is not None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files below `folder` left by processes that no longer run (e.g. after SIGKILL)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for p in folder.rglob("*.msimg-tmp"):
        m = _TEMP_RE.match(p.name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed += 1
    return removed
