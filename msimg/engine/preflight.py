"""Checks before any model loads: every output folder can be written, and every output's format can hold
the result its input's header announces (alpha, bit depth). A batch that would fail there after hours of
work fails at once instead, in the task's own words."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from msimg.engine.options import OutputOptions
from msimg.engine.task import Task
from msimg.errors import UsageError
from msimg.io.atomic import temp_path_for
from msimg.io.discover import Job
from msimg.io.probe import Header, probe
from msimg.io.read import SUPPORTED_SUFFIXES
from msimg.io.write import can_hold, file_format, format_name

_DECODED = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))  # sample types the reader returns


def _check_writable(folder: Path) -> None:
    """Make `folder` if needed and write a file there: the only test that also holds for root, read-only
    file systems and full quotas, which permission bits do not show."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        check = temp_path_for(folder / ".msimg-write-check")  # a stale-temp name, should we be killed here
        check.write_bytes(b"")
        check.unlink()
    except OSError as err:
        raise UsageError(f"cannot write to {folder}: {err.strerror or err}") from None


def _format_of(job: Job, out: OutputOptions) -> str | None:
    if job.output is None:  # stdout: "same" falls back to a format that holds the result
        return None if out.fmt == "same" else format_name(out.fmt)
    return file_format(job.output)


def _what(fmt: str, dtype: np.dtype, channels: int) -> str:
    missing = []
    if not can_hold(fmt, np.dtype(np.uint8), channels):
        missing.append("an alpha channel" if channels in (2, 4) else f"{channels} channels")
    if dtype != np.uint8 and not can_hold(fmt, dtype, 3 if channels == 4 else 1):
        missing.append("float samples" if dtype.kind == "f" else f"{8 * dtype.itemsize}-bit samples")
    return " and ".join(missing) or f"{channels}-channel {dtype} images"


def _refusal(task: Task, bad: list[tuple[Job, str, np.dtype, int]]) -> UsageError:
    job, fmt, dtype, channels = bad[0]
    holds = [f for f in ("png", "tiff", "webp") if can_hold(f, dtype, channels)] or ["tiff"]
    first = holds[0]
    remedy = (
        f"write {' or '.join(h.upper() for h in holds)} (--format {first}, or an output name ending .{first})"
    )
    if dtype != np.uint8 and task.depth_option and can_hold(fmt, np.dtype(np.uint8), channels):
        remedy += f", or 8-bit results ({task.depth_option})"
    more = f" ({len(bad) - 1} more input(s) alike)" if len(bad) > 1 else ""
    has = _what(fmt, dtype, channels)
    cannot = f"{fmt.upper()} cannot hold its {task.name} result, which has {has}"
    return UsageError(f"{job.name}: {cannot}; {remedy}{more}")


def preflight(task: Task, options: Any, jobs: Sequence[Job], out: OutputOptions) -> list[Job]:
    """Refuse (`UsageError`) a batch whose outputs cannot be written or held; return the jobs with the
    megapixels their headers give (None for RAW files, stdin and headers that say nothing).

    A folder whose outputs all exist is not written to (a finished run in a read-only archive stays
    fine), and a header of a kind the reader refuses is left to fail its own file.
    """
    for folder in sorted({job.output.parent for job in jobs if job.output is not None and not job.skip}):
        _check_writable(folder)
    bad: list[tuple[Job, str, np.dtype, int]] = []
    result = []
    for job in jobs:
        header: Header | None = None
        if job.source is not None and job.source.suffix.lower() in SUPPORTED_SUFFIXES:
            header = probe(job.source)
        if header is not None and (header.dtype not in _DECODED or not 1 <= header.channels <= 4):
            header = None  # the reader refuses it: that file fails alone
        if header is not None:
            job = dataclasses.replace(job, megapixels=header.megapixels)
        result.append(job)
        fmt = _format_of(job, out)
        if fmt is None or task.file_format is not None:  # segment: its options fix a format that holds it
            continue
        if task.result_kind is not None:
            dtype, channels = task.result_kind(options, header)
        elif header is not None:
            dtype, channels = header.dtype, header.channels
        else:
            continue
        if not can_hold(fmt, np.dtype(dtype), channels):
            bad.append((job, fmt, np.dtype(dtype), channels))
    if bad:
        raise _refusal(task, bad)
    return result
