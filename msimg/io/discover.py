"""Inputs -> jobs: expand files, folders and globs; map each to its output path; refuse conflicts.

Pure planning: nothing is decoded or written here, so every conflict is refused before any work.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from msimg.errors import ImageWriteError, UsageError
from msimg.io.atomic import is_temp_file
from msimg.io.read import SUPPORTED_SUFFIXES
from msimg.io.write import FORMAT_SUFFIX, format_name

__all__ = ["Job", "plan_jobs", "stale_temp_roots"]


@dataclass(frozen=True)
class Job:
    """One image to process. `source` None means stdin; `output` None means stdout."""

    source: Path | None
    output: Path | None
    skip: bool = False  # output already exists and --overwrite was not given
    note: str | None = None  # why an existing output is kept or redone (`engine.provenance`)
    megapixels: float | None = None  # as the input's header says, where it says (`engine.preflight`)

    @property
    def name(self) -> str:
        return str(self.source) if self.source is not None else "<stdin>"


@dataclass(frozen=True)
class _Input:
    """One INPUT argument, classified before any walk so every output root is known up front."""

    text: str
    kind: Literal["file", "folder", "glob"]
    base: Path  # outputs mirror the tree below this folder (the file itself for "file")
    root: Path  # the output root
    beside: bool  # a lone file with no -o: written beside itself as <stem>-<task><ext>


@dataclass(frozen=True)
class _Found:
    path: Path
    rel: Path  # relative path under the output root
    root: Path
    beside: bool


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _glob_base(pattern: str) -> Path:
    """The non-magic leading folders of a glob pattern: what its matches are relative to."""
    base: list[str] = []
    for part in Path(pattern).parts[:-1]:
        if _is_glob(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _default_root(folder: Path, task: str) -> Path:
    """`photos/` -> `photos-<task>/`, a sibling, so a re-run never walks its own outputs."""
    folder = folder if folder.name else folder.resolve()
    return folder.parent / f"{folder.name}-{task}"


def _format_suffix(fmt: str) -> str | None:
    """The canonical suffix for `--format`, or None for "same" (each input keeps its own)."""
    if fmt.lower() == "same":
        return None
    try:
        return FORMAT_SUFFIX[format_name(fmt)]
    except ImageWriteError:
        raise UsageError(f"unknown --format '{fmt}' (png, jpg, tif, webp, bmp or same)") from None


def _looks_like_file(output: str) -> bool:
    """`-o` names a file (not a folder to create) when it has an image suffix and is not a folder."""
    suffix = Path(output).suffix.lower()
    return suffix in SUPPORTED_SUFFIXES | set(FORMAT_SUFFIX.values()) and not Path(output).is_dir()


def _check_parents(targets: Iterable[Path]) -> None:
    """Refuse before any work an output below a file (`-o notes.txt/a.png`, a mirrored subfolder or the
    default `X-task/` taken by a file): it could never be written, and the model would run for nothing."""
    seen: set[Path] = set()
    for target in targets:
        for parent in target.parents:
            if parent in seen:
                break
            seen.add(parent)
            if parent.exists():
                if not parent.is_dir():
                    raise UsageError(f"cannot write {target}: {parent} is a file, not a folder")
                break


def _file_output(output: str, ext: str | None) -> Path:
    """`-o` as a file path; its own suffix decides the format, so a different --format is a contradiction
    (segment's label maps and boundaries set the format themselves)."""
    path = Path(output)
    if ext is not None and FORMAT_SUFFIX[format_name(path.suffix)] != ext:
        raise UsageError(
            f"-o {output}: this output is written as {ext.lstrip('.').upper()} (from --format); name it "
            f"{path.with_suffix(ext).name}"
        )
    return path


def _classify(text: str, out_root: Path | None, task: str) -> _Input:
    path = Path(text)
    if path.is_dir():
        return _Input(text, "folder", path, out_root or _default_root(path, task), False)
    if path.is_file():
        return _Input(text, "file", path, out_root or path.parent, out_root is None)
    if _is_glob(text):
        base = _glob_base(text)
        return _Input(text, "glob", base, out_root or _default_root(base, task), False)
    if path.exists():
        raise UsageError(f"input is neither a file nor a folder: {text}")
    raise UsageError(f"input not found: {text}")


def _inside(path: Path, roots: frozenset[Path]) -> bool:
    resolved = path.resolve()
    return resolved in roots or any(parent in roots for parent in resolved.parents)


def _walk(folder: Path, exclude: frozenset[Path], suffixes: frozenset[str]) -> list[Path]:
    """Image files below `folder`, sorted by path; hidden entries, temp files and output roots left out."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in exclude]
        found += [
            here / f
            for f in filenames
            if not f.startswith(".") and Path(f).suffix.lower() in suffixes and not is_temp_file(here / f)
        ]
    return sorted(found)


def _glob(pattern: str, base: Path, exclude: frozenset[Path]) -> list[Path]:
    """The files a pattern matches, as the shell would give them, minus temp files and the output roots
    below its base (as a walk would prune them; a root above the base holds the inputs themselves)."""
    matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not matches:
        raise UsageError(f"no file matches '{pattern}'")
    top = base.resolve()
    below = frozenset(r for r in exclude if top in r.parents)
    return [p for p in matches if not is_temp_file(p) and not _inside(p, below)]


def _expand(item: _Input, exclude: frozenset[Path], suffixes: frozenset[str]) -> list[_Found]:
    if item.kind == "file":
        return [_Found(item.base, Path(item.base.name), item.root, item.beside)]
    if item.kind == "folder":
        paths = _walk(item.base, exclude, suffixes)
    else:
        paths = _glob(item.text, item.base, exclude)
    return [_Found(p, p.relative_to(item.base), item.root, False) for p in paths]


def _unique(found: Iterable[_Found]) -> list[_Found]:
    """The same file reached twice (named twice, or by a folder and a glob) is processed once."""
    seen: set[Path] = set()
    kept: list[_Found] = []
    for f in found:
        key = f.path.resolve()
        if key not in seen:
            seen.add(key)
            kept.append(f)
    return kept


def _output_path(found: _Found, ext: str | None, suffix: str, task: str) -> Path:
    own = found.path.suffix
    ext = ext or (own if own.lower() in SUPPORTED_SUFFIXES else ".png")
    stem = found.rel.stem + (f"-{task}" if found.beside else "") + suffix
    return found.root / found.rel.parent / f"{stem}{ext}"


def _check_conflicts(pairs: Sequence[tuple[Path, Path]]) -> None:
    """Refuse an output that is an input, or that two inputs share, before anything is written."""
    sources = {source.resolve() for source, _ in pairs}
    owners: dict[Path, Path] = {}
    for source, target in pairs:
        key = target.resolve()
        if key in sources:
            raise UsageError(
                f"output {target} (from {source}) would overwrite an input; choose another -o, --suffix "
                "or --format"
            )
        if key in owners:
            raise UsageError(f"{owners[key]} and {source} would both be written to {target}")
        owners[key] = source


def _stdin_job(inputs: Sequence[str], output: str | None, ext: str | None, overwrite: bool) -> Job:
    if len(inputs) > 1:
        raise UsageError("'-' (stdin) must be the only input")
    if output is None or output == "-":
        return Job(None, None)
    if not _looks_like_file(output):
        raise UsageError(f"with '-' (stdin) as input, -o must be '-' or an image file name, not {output}")
    target = _file_output(output, ext)
    _check_parents([target])
    return Job(None, target, skip=target.exists() and not overwrite)


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

    Folders are walked recursively (image suffixes and `extra_suffixes` only, hidden files skipped) and
    mirrored under the output root; a file named explicitly is always taken; a glob is relative to its
    non-magic base folder. Default output: `X-<task>/` beside a folder `X`, `a-<task>.png` beside a file.
    """
    ext = _format_suffix(fmt)
    if "/" in suffix or os.sep in suffix:
        raise UsageError(f"--suffix '{suffix}' must not contain a path separator")
    if not inputs:
        raise UsageError("no input given")
    if "-" in inputs:
        return [_stdin_job(inputs, output, ext, overwrite)]
    single_file = len(inputs) == 1 and Path(inputs[0]).is_file()
    if output == "-":
        if not single_file:
            raise UsageError("-o - (stdout) takes exactly one input file")
        return [Job(Path(inputs[0]), None)]
    file_target = None
    if output is not None and _looks_like_file(output):
        if not single_file:
            raise UsageError(f"-o {output} names a file, but only a single input file can go to a file")
        file_target = _file_output(output, ext)
    elif output is not None and Path(output).exists() and not Path(output).is_dir():
        raise UsageError(f"-o {output} exists and is not a folder")
    out_root = Path(output) if output is not None and file_target is None else None
    items = [_classify(text, out_root, task) for text in inputs]
    exclude = frozenset(i.root.resolve() for i in items if not i.beside)
    suffixes = SUPPORTED_SUFFIXES | frozenset(s.lower() for s in extra_suffixes)
    found = _unique(f for item in items for f in _expand(item, exclude, suffixes))
    if not found:
        raise UsageError(f"no input images found in {', '.join(inputs)}")
    pairs = [(f.path, file_target or _output_path(f, ext, suffix, task)) for f in found]
    _check_conflicts(pairs)
    _check_parents(target for _, target in pairs)
    return [Job(source, target, skip=target.exists() and not overwrite) for source, target in pairs]


def stale_temp_roots(jobs: Sequence[Job]) -> set[Path]:
    """The distinct output folders, where an earlier killed run may have left temp files."""
    return {j.output.parent for j in jobs if j.output is not None}
