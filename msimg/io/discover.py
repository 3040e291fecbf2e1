"""Inputs -> jobs: expand files, folders and globs; map each to its output path; refuse conflicts.

Pure planning: nothing is decoded or written here, so every conflict is refused before any work.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from msimg.errors import UsageError
from msimg.io.atomic import is_temp_file
from msimg.io.read import SUPPORTED_SUFFIXES

_CANONICAL = {
    "png": ".png",
    "jpg": ".jpg",
    "jpeg": ".jpg",
    "tif": ".tif",
    "tiff": ".tif",
    "webp": ".webp",
    "bmp": ".bmp",
}


@dataclass(frozen=True)
class Job:
    """One image to process. `source` None means stdin; `output` None means stdout."""

    source: Path | None
    output: Path | None
    skip: bool = False  # output already exists and --overwrite was not given

    @property
    def name(self) -> str:
        return str(self.source) if self.source is not None else "<stdin>"


@dataclass(frozen=True)
class _Found:
    path: Path
    rel: Path  # relative path under the output root
    root: Path  # the output root of the input it came from
    beside: bool = False  # a lone file with no -o: written beside itself as <stem>-<task><ext>


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _glob_base(pattern: str) -> Path:
    """The non-magic leading folders of a glob pattern."""
    parts = Path(pattern).parts
    base: list[str] = []
    for part in parts:
        if _is_glob(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _walk(folder: Path, exclude: Path | None, suffixes: frozenset[str]) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and (exclude is None or (here / d).resolve() != exclude)
        )
        found += [
            here / f
            for f in sorted(filenames)
            if not f.startswith(".") and Path(f).suffix.lower() in suffixes and not is_temp_file(here / f)
        ]
    return found


def _default_root(folder: Path, task: str) -> Path:
    folder = folder if folder.name else folder.resolve()
    return folder.parent / f"{folder.name}-{task}"


def _expand(item: str, output_root: Path | None, task: str, suffixes: frozenset[str]) -> list[_Found]:
    exclude = output_root.resolve() if output_root is not None else None
    if _is_glob(item) and not Path(item).exists():
        base = _glob_base(item)
        matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
        if not matches:
            raise UsageError(f"no file matches '{item}'")
        root = output_root or _default_root(base, task)
        return [
            _Found(p, p.relative_to(base), root)
            for p in matches
            if exclude is None or exclude not in p.resolve().parents
        ]
    path = Path(item)
    if path.is_dir():
        root = output_root or _default_root(path, task)
        return [_Found(p, p.relative_to(path), root) for p in _walk(path, exclude, suffixes)]
    if path.is_file():
        if output_root is None:
            return [_Found(path, Path(path.name), path.parent, beside=True)]
        return [_Found(path, Path(path.name), output_root)]
    raise UsageError(f"input not found: {item}")


def _output_name(found: _Found, fmt: str, suffix: str, task: str) -> Path:
    src_suffix = found.path.suffix
    if fmt == "same":
        ext = src_suffix if src_suffix.lower() in SUPPORTED_SUFFIXES else ".png"
    else:
        ext = _CANONICAL[fmt]
    stem = found.rel.stem + (f"-{task}" if found.beside else "") + suffix
    return found.root / found.rel.parent / f"{stem}{ext}"


def plan_jobs(
    inputs: Sequence[str],
    output: str | None,
    task: str,
    fmt: str = "same",
    suffix: str = "",
    overwrite: bool = False,
    extra_suffixes: frozenset[str] = frozenset(),
) -> list[Job]:
    """The jobs for a command line, in input order; raises `UsageError` for any conflict.

    Folders are walked recursively (image suffixes only, hidden files skipped) and mirrored under the output
    root; a file named explicitly is always taken. Default output: `X-<task>/` beside a folder `X`, and
    `a-<task>.png` beside a file `a.png`.
    """
    fmt = fmt.lower()
    if fmt != "same" and fmt not in _CANONICAL:
        raise UsageError(f"unknown --format '{fmt}' (png, jpg, tif, webp, bmp or same)")
    if not inputs:
        raise UsageError("no input given")
    if "-" in inputs:
        if len(inputs) > 1:
            raise UsageError("'-' (stdin) must be the only input")
        if output not in (None, "-"):
            raise UsageError("with '-' (stdin) as input, the output must be '-' (stdout)")
        return [Job(None, None)]
    suffixes = SUPPORTED_SUFFIXES | frozenset(s.lower() for s in extra_suffixes)
    single_file = len(inputs) == 1 and Path(inputs[0]).is_file()
    if output == "-":
        if not single_file:
            raise UsageError("-o - (stdout) takes exactly one input file")
        return [Job(Path(inputs[0]), None)]
    file_output = (
        single_file
        and output is not None
        and Path(output).suffix.lower() in SUPPORTED_SUFFIXES
        and not Path(output).is_dir()
    )
    output_root = None if output is None or file_output else Path(output)
    found: list[_Found] = []
    seen: set[Path] = set()
    for item in inputs:
        for f in _expand(item, output_root, task, suffixes):
            key = f.path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(f)
    if not found:
        raise UsageError(f"no input images found in {', '.join(inputs)}")
    jobs: list[Job] = []
    owners: dict[Path, Path] = {}
    sources = {f.path.resolve() for f in found}
    for f in found:
        target = Path(output) if file_output else _output_name(f, fmt, suffix, task)
        key = target.resolve()
        if key in sources:
            raise UsageError(
                f"output {target} would overwrite an input; choose another -o, --suffix or --format"
            )
        if key in owners:
            raise UsageError(f"{owners[key]} and {f.path} would both be written to {target}")
        owners[key] = f.path
        jobs.append(Job(f.path, target, skip=target.exists() and not overwrite))
    return jobs


def stale_temp_roots(jobs: Sequence[Job]) -> set[Path]:
    """The distinct output folders, where an earlier killed run may have left temp files."""
    return {j.output.parent for j in jobs if j.output is not None}
