"""The Python API; the CLI's task commands are a thin layer over `run_batch`, as `run_folder` is.

>>> import numpy as np, msimg
>>> clean = msimg.run("denoise", noisy_uint8_rgb, sigma=25)          # doctest: +SKIP
>>> report = msimg.run_folder("denoise", ["photos/"], "clean/")     # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from msimg.engine.options import EngineOptions, OutputOptions
from msimg.engine.pipeline import Report, Reporter, run_jobs
from msimg.engine.preflight import preflight
from msimg.engine.session import Session, open_session
from msimg.errors import UsageError
from msimg.io.discover import plan_jobs
from msimg.io.read import SUPPORTED_SUFFIXES
from msimg.tasks import get_task

_ENGINE_FIELDS = {f.name for f in dataclasses.fields(EngineOptions)}
_OUTPUT_FIELDS = {f.name for f in dataclasses.fields(OutputOptions)}


def _runtime_types(hint: Any) -> tuple[type, ...] | None:
    """The types a value of annotation `hint` may have, as the CLI's parser would convert them (a str for
    a Path, a list for a tuple, an int for a float); None when it cannot be checked."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [_runtime_types(a) for a in typing.get_args(hint) if a is not type(None)]
        if any(p is None for p in parts):
            return None
        return tuple(t for p in parts if p is not None for t in p)
    origin = typing.get_origin(hint) or hint
    known = {float: (int, float), Path: (Path, str), tuple: (tuple, list)}
    if origin in known:
        return known[origin]
    return (origin,) if origin in (int, str, bool) else None


def _hints(cls: type) -> dict[str, Any]:
    """The annotations of a dataclass's fields that can be resolved at run time; a field typed with a
    name imported for type checkers only (demosaic's file facts, deblur's kernel tensor) is left out."""
    namespace = vars(sys.modules[cls.__module__])
    hints = {}
    for f in dataclasses.fields(cls):
        try:
            hints[f.name] = eval(f.type, namespace) if isinstance(f.type, str) else f.type
        except NameError:
            continue
    return hints


def _check_types(cls: type, values: dict[str, Any]) -> None:
    """Name the option whose value has the wrong type (sigma="15", tta="no") before it misleads."""
    hints = _hints(cls)
    for name, value in values.items():
        kinds = _runtime_types(hints.get(name))
        if value is not None and kinds is not None and not isinstance(value, kinds):
            hint = hints[name]
            raise UsageError(f"{name}={value!r}: expected {getattr(hint, '__name__', None) or hint}")


def _split(
    task: str, options: dict[str, Any], allowed: set[str]
) -> tuple[EngineOptions, Any, dict[str, Any]]:
    """Keyword options -> (engine options, task options, the rest). "auto", as on the command line, means
    None wherever None is the automatic choice (sigma, tile, ...)."""
    options_type = get_task(task).options_type
    fields = (*dataclasses.fields(EngineOptions), *dataclasses.fields(options_type))
    automatic = {f.name for f in fields if f.default is None and f.name != "model"}
    options = {
        k: None if k in automatic and isinstance(v, str) and v.strip().lower() == "auto" else v
        for k, v in options.items()
    }
    task_fields = {f.name for f in dataclasses.fields(options_type) if f.init}
    unknown = set(options) - _ENGINE_FIELDS - task_fields - allowed
    if unknown:
        known = ", ".join(sorted(_ENGINE_FIELDS | task_fields | allowed))
        raise UsageError(f"unknown option(s) for {task}: {', '.join(sorted(unknown))} (known: {known})")
    engine_opts = {k: v for k, v in options.items() if k in _ENGINE_FIELDS}
    task_values = {k: v for k, v in options.items() if k in task_fields}
    rest = {k: v for k, v in options.items() if k in allowed - task_fields}  # dejpeg's quality is its own
    _check_types(EngineOptions, engine_opts)
    _check_types(options_type, task_values)
    _check_types(OutputOptions, {k: v for k, v in rest.items() if k in _OUTPUT_FIELDS})
    engine, task_opts = EngineOptions(**engine_opts), options_type(**task_values)
    return engine, task_opts, rest


def session(task: str, **options: Any) -> Session:
    """A reusable session (model loaded once) for many `Session.restore` calls."""
    engine, task_opts, _ = _split(task, options, set())
    return open_session(get_task(task), engine, task_opts)


def run(task: str, image: np.ndarray, **options: Any) -> np.ndarray:
    """Restore one image held in memory.

    `image` is (H, W) or (H, W, C) with C in 1-4, uint8, uint16 or float32 (RGB order); the result has the
    same dtype and layout (scaled for super-resolution; demosaic turns an (H, W) mosaic into 16-bit RGB;
    segment returns an (H, W) label map or boundary map).
    Options are the CLI's in snake_case (device, tile, sigma, ...; "auto" or None where the CLI says
    auto), except segment's --format, which is `kind` here since the result is an array, not a file.
    """
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise UsageError(f"image must be (H, W) or (H, W, 1-4), got shape {image.shape}")
    if 0 in image.shape[:2]:
        raise UsageError(f"image is empty: shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise UsageError(f"image dtype must be uint8, uint16 or float32, got {image.dtype}")
    pixels = image[..., None] if image.ndim == 2 else image
    out, _ = session(task, **options).restore(np.ascontiguousarray(pixels))
    one = out.shape[2] == 1 and (image.ndim == 2 or pixels.shape[2] != 1)  # a label map of a colour photo
    return out[..., 0] if one else out


def run_folder(
    task: str,
    inputs: Sequence[str] | str,
    output: str | None = None,
    *,
    reporter: Reporter | None = None,
    **options: Any,
) -> Report:
    """Restore files, folders or globs into `output`, named and skipped as by the CLI; returns a `Report`.

    Besides `run`'s options: `fmt` (--format), `quality`, `max_pixels` (--max-megapixels, in pixels),
    `suffix`, `overwrite`.

    Conflicting outputs are refused before any work; per-file failures are in `Report.failed`.
    """
    allowed = _OUTPUT_FIELDS | {"suffix", "overwrite"}
    engine, task_opts, rest = _split(task, options, allowed)
    if get_task(task).file_format is not None and "fmt" in rest:
        raise UsageError(f"{task} writes the format its options imply; drop fmt")
    out = OutputOptions(**{k: v for k, v in rest.items() if k in _OUTPUT_FIELDS})
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    suffix, overwrite = rest.get("suffix", ""), rest.get("overwrite", False)
    return run_batch(task, inputs, output, engine, task_opts, out, suffix, overwrite, reporter)


def _names_a_file(output: str | None) -> bool:
    """Whether `-o` names an image file (its suffix then says the format) rather than a folder."""
    return output is not None and Path(output).suffix.lower() in SUPPORTED_SUFFIXES


def run_batch(
    task: str,
    inputs: Sequence[str],
    output: str | None,
    engine: EngineOptions,
    task_options: Any,
    out: OutputOptions,
    suffix: str = "",
    overwrite: bool = False,
    reporter: Reporter | None = None,
) -> Report:
    """The one batch path, of the CLI and `run_folder`: plan the jobs (every conflict refused before any
    work), open the session, run the pipeline."""
    spec = get_task(task)
    if spec.file_format is not None:  # segment: the kind of result fixes the file's format
        out = dataclasses.replace(out, fmt=spec.file_format(task_options))
    elif spec.default_format is not None and out.fmt == "same" and not _names_a_file(output):
        out = dataclasses.replace(out, fmt=spec.default_format)  # dejpeg: not the input's JPEG again
    jobs = plan_jobs(inputs, output, task, out.fmt, suffix, overwrite, extra_suffixes=spec.suffixes)
    if any(job.output is None for job in jobs) and sys.stdout.isatty():
        raise UsageError("the image would be written to the terminal; give -o FILE or redirect stdout")
    if any(job.source is None for job in jobs) and sys.stdin.isatty():
        raise UsageError("'-' reads the image from stdin, which is the terminal; pipe or redirect a file in")
    jobs = preflight(spec, task_options or spec.options_type(), jobs, out)
    return run_jobs(open_session(spec, engine, task_options), jobs, out, reporter)
