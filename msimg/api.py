"""The Python API; the CLI's task commands are a thin layer over `run_batch`, as `run_folder` is, and
`msimg run` over `run_chain`, as `pipeline(...).run_folder` is.

>>> import numpy as np, msimg
>>> clean = msimg.run("denoise", noisy_uint8_rgb, sigma=25)          # doctest: +SKIP
>>> report = msimg.run_folder("denoise", ["photos/"], "clean/")     # doctest: +SKIP
>>> large = msimg.pipeline(["denoise", "super-resolve"], super_resolve={"scale": 2})  # doctest: +SKIP
>>> report = large.run_folder(["photos/"], "large/")                # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from msimg.cluster import ClusterOptions
from msimg.engine.chain import Chain, chain_task, open_chain
from msimg.engine.options import EngineOptions, OutputOptions
from msimg.engine.pipeline import Report, Reporter, run_jobs
from msimg.engine.preflight import preflight
from msimg.engine.session import Restorer, Session, open_session
from msimg.engine.task import Task
from msimg.errors import UsageError
from msimg.io.discover import Job, plan_jobs
from msimg.io.image import Image, ImageMeta
from msimg.io.read import SUPPORTED_SUFFIXES
from msimg.tasks import TASKS, check_stages, get_task, reader_of

_ENGINE_FIELDS = {f.name for f in dataclasses.fields(EngineOptions)}
_OUTPUT_FIELDS = {f.name for f in dataclasses.fields(OutputOptions)}
_BATCH_FIELDS = _OUTPUT_FIELDS | {"suffix", "overwrite"}  # `run_folder`'s options beside the task's


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


def _automatic(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with "auto" as None wherever None is the automatic choice of a field of `cls` (sigma,
    tile, ...), as on the command line."""
    automatic = {f.name for f in dataclasses.fields(cls) if f.default is None and f.name != "model"}
    return {
        k: None if k in automatic and isinstance(v, str) and v.strip().lower() == "auto" else v
        for k, v in values.items()
    }


def _engine(values: dict[str, Any]) -> EngineOptions:
    """Engine options given as keywords, checked."""
    values = _automatic(EngineOptions, values)
    _check_types(EngineOptions, values)
    return EngineOptions(**values)


def _split(
    task: str, options: dict[str, Any], allowed: set[str]
) -> tuple[EngineOptions, Any, dict[str, Any]]:
    """Keyword options -> (engine options, task options, the rest)."""
    options_type = get_task(task).options_type
    task_fields = {f.name for f in dataclasses.fields(options_type) if f.init}
    unknown = set(options) - _ENGINE_FIELDS - task_fields - allowed
    if unknown:
        known = ", ".join(sorted(_ENGINE_FIELDS | task_fields | allowed))
        raise UsageError(f"unknown option(s) for {task}: {', '.join(sorted(unknown))} (known: {known})")
    task_values = _automatic(options_type, {k: v for k, v in options.items() if k in task_fields})
    rest = {k: v for k, v in options.items() if k in allowed - task_fields}  # dejpeg's quality is its own
    engine = _engine({k: v for k, v in options.items() if k in _ENGINE_FIELDS})
    _check_types(options_type, task_values)
    _check_types(OutputOptions, {k: v for k, v in rest.items() if k in _OUTPUT_FIELDS})
    return engine, options_type(**task_values), rest


def session(task: str, **options: Any) -> Session:
    """A reusable session (model loaded once) for many `Session.restore` calls."""
    engine, task_opts, _ = _split(task, options, set())
    return open_session(get_task(task), engine, task_opts)


def restore_array(image: np.ndarray, restore: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`image`, checked, through `restore` as (H, W, C); the result in the image's layout."""
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise UsageError(f"image must be (H, W) or (H, W, 1-4), got shape {image.shape}")
    if 0 in image.shape[:2]:
        raise UsageError(f"image is empty: shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise UsageError(f"image dtype must be uint8, uint16 or float32, got {image.dtype}")
    pixels = image[..., None] if image.ndim == 2 else image
    out = restore(np.ascontiguousarray(pixels))
    one = out.shape[2] == 1 and (image.ndim == 2 or pixels.shape[2] != 1)  # a label map of a colour photo
    return out[..., 0] if one else out


def run(task: str, image: np.ndarray, **options: Any) -> np.ndarray:
    """Restore one image held in memory.

    `image` is (H, W) or (H, W, C) with C in 1-4, uint8, uint16 or float32 (RGB order); the result has the
    same dtype and layout (scaled for super-resolution; demosaic turns an (H, W) mosaic into 16-bit RGB;
    segment returns an (H, W) label map or boundary map).
    Options are the CLI's in snake_case (device, tile, sigma, ...; "auto" or None where the CLI says
    auto), except segment's --format, which is `kind` here since the result is an array, not a file.
    """
    return restore_array(image, lambda pixels: session(task, **options).restore(pixels)[0])


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
    engine, task_opts, rest = _split(task, options, _BATCH_FIELDS)
    if get_task(task).file_format is not None and "fmt" in rest:
        raise UsageError(f"{task} writes the format its options imply; drop fmt")
    out, suffix, overwrite = _batch_options(rest)
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    return run_batch(task, inputs, output, engine, task_opts, out, suffix, overwrite, reporter)


def _batch_options(rest: dict[str, Any]) -> tuple[OutputOptions, str, bool]:
    """`run_folder`'s options beside the task's: how outputs are written, `suffix` and `overwrite`."""
    out = OutputOptions(**{k: v for k, v in rest.items() if k in _OUTPUT_FIELDS})
    return out, rest.get("suffix", ""), rest.get("overwrite", False)


def _names_a_file(output: str | None) -> bool:
    """Whether `-o` names an image file (its suffix then says the format) rather than a folder."""
    return output is not None and Path(output).suffix.lower() in SUPPORTED_SUFFIXES


def _plan(
    spec: Task,
    options: Any,
    inputs: Sequence[str],
    output: str | None,
    out: OutputOptions,
    suffix: str,
    overwrite: bool,
) -> tuple[list[Job], OutputOptions]:
    """The jobs of a batch of `spec` (every conflict refused before any work), and the output options as
    the task settles them."""
    if spec.file_format is not None:  # segment: the kind of result fixes the file's format
        out = dataclasses.replace(out, fmt=spec.file_format(options))
    elif spec.default_format is not None and out.fmt == "same" and not _names_a_file(output):
        out = dataclasses.replace(out, fmt=spec.default_format)  # dejpeg: not the input's JPEG again
    jobs = plan_jobs(inputs, output, spec.name, out.fmt, suffix, overwrite, extra_suffixes=spec.suffixes)
    if any(job.output is None for job in jobs) and sys.stdout.isatty():
        raise UsageError("the image would be written to the terminal; give -o FILE or redirect stdout")
    if any(job.source is None for job in jobs) and sys.stdin.isatty():
        raise UsageError("'-' reads the image from stdin, which is the terminal; pipe or redirect a file in")
    return jobs, out


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
    cluster: ClusterOptions | None = None,
) -> Report:
    """The one batch path of a task, of the CLI and `run_folder`: plan the jobs, check them, open the
    session, run the pipeline (here, or on `cluster`'s workers)."""
    spec = get_task(task)
    options = task_options or spec.options_type()
    load = lambda: open_session(spec, engine, task_options)  # noqa: E731 (a cluster's workers each call it)
    return _run_planned(spec, options, load, inputs, output, out, suffix, overwrite, reporter, cluster)


def _run_planned(
    spec: Task,
    options: Any,
    load: Callable[[], Restorer],
    inputs: Sequence[str],
    output: str | None,
    out: OutputOptions,
    suffix: str,
    overwrite: bool,
    reporter: Reporter | None,
    cluster: ClusterOptions | None,
    check: Callable[[Task, list[Job]], None] | None = None,
) -> Report:
    """Plan the jobs of `spec` (a task, or a chain's `chain_task`) with its `options`, `check` them (a
    chain's), preflight them, then run them here by the restorer `load` makes, or on `cluster`'s workers,
    which each make one. Nothing loads before the jobs are checked."""
    jobs, out = _plan(spec, options, inputs, output, out, suffix, overwrite)
    if check is not None:
        check(spec, jobs)
    jobs = preflight(spec, options, jobs, out)
    if cluster is None:
        return run_jobs(load(), jobs, out, reporter)
    from msimg.cluster.ray import run_on_ray

    return run_on_ray(spec.name, load, jobs, out, cluster, reporter)


def _refuse_unread(spec: Task, jobs: Sequence[Job]) -> None:
    """Refuse an input that a chain's first stage cannot read but another task can (demosaic's RAW
    files), naming that task: the stages after the first are handed images, not files."""
    readable = SUPPORTED_SUFFIXES | spec.suffixes
    for job in jobs:
        if job.source is None:
            continue
        suffix = job.source.suffix.lower()
        reader = None if suffix in readable else reader_of(suffix)
        if reader is not None:
            raise UsageError(f"{job.name}: only {reader} reads it, so the stages must start with {reader}")


def _run_chain(
    spec: Task,
    options: Any,
    load: Callable[[], Chain],
    inputs: Sequence[str],
    output: str | None,
    out: OutputOptions,
    suffix: str,
    overwrite: bool,
    reporter: Reporter | None,
    cluster: ClusterOptions | None = None,
) -> Report:
    """The batch path of a chain (`chain_task` is `spec`, the first stage's options `options`): a task's,
    with the inputs only the first stage could read refused."""
    if spec.file_format is not None and out.fmt != "same":
        raise UsageError(f"the last stage of {spec.name} writes the format its options say; drop --format")
    args = (spec, options, load, inputs, output, out, suffix, overwrite, reporter, cluster)
    return _run_planned(*args, check=_refuse_unread)


def run_chain(
    stages: Sequence[tuple[str, Any, str | None]],
    inputs: Sequence[str],
    output: str | None,
    engine: EngineOptions,
    out: OutputOptions,
    suffix: str = "",
    overwrite: bool = False,
    reporter: Reporter | None = None,
    cluster: ClusterOptions | None = None,
) -> Report:
    """The batch path of `msimg run`: (task, options, model) stages, each with `engine` but its own model,
    every image through them all; checked and planned before any model loads."""
    check_stages([name for name, _, _ in stages])
    given = [
        (get_task(name), options, dataclasses.replace(engine, model=model)) for name, options, model in stages
    ]
    spec = chain_task([(task, options) for task, options, _ in given])
    load = lambda: open_chain(given)  # noqa: E731 (a cluster's workers each call it)
    return _run_chain(spec, given[0][1], load, inputs, output, out, suffix, overwrite, reporter, cluster)


@dataclass(frozen=True)
class Pipeline:
    """Stages with their models loaded once (`pipeline`): call it on an image, or run it over files."""

    chain: Chain

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """An image in memory through every stage, taken and returned as `run` does (the result in the
        first stage's sample type)."""
        meta = ImageMeta("array")  # no file: nothing a reader found for a stage to use

        def restore(pixels: np.ndarray) -> np.ndarray:
            return self.chain.restore_image(Image(pixels, meta))[0].pixels

        return restore_array(image, restore)

    def run_folder(
        self,
        inputs: Sequence[str] | str,
        output: str | None = None,
        *,
        reporter: Reporter | None = None,
        **options: Any,
    ) -> Report:
        """Files, folders or globs through every stage into `output`, as `run_folder` does one task; the
        options are its output options (fmt, quality, max_pixels, suffix, overwrite)."""
        unknown = set(options) - _BATCH_FIELDS
        if unknown:
            known = ", ".join(sorted(_BATCH_FIELDS))
            raise UsageError(f"unknown option(s): {', '.join(sorted(unknown))} (known: {known})")
        _check_types(OutputOptions, {k: v for k, v in options.items() if k in _OUTPUT_FIELDS})
        out, suffix, overwrite = _batch_options(options)
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        chain = self.chain
        return _run_chain(
            chain.task, chain.options, lambda: chain, inputs, output, out, suffix, overwrite, reporter
        )


def pipeline(stages: Sequence[str] | str, **options: Any) -> Pipeline:
    """Stages that run one after another on each image, each model loaded once (`msimg run`).

    >>> large = msimg.pipeline("denoise,super-resolve", denoise={"sigma": 10}, tile=0)  # doctest: +SKIP
    >>> out = large(photo)                                                # doctest: +SKIP

    `stages` are task names, in order (a list, or one text with commas). A stage's options go in a dict
    under its name (`super_resolve` for super-resolve), as `run` takes them, with its `model`; the other
    keywords are the engine options every stage shares (device, precision, tile, ...).
    """
    names = stages.split(",") if isinstance(stages, str) else list(stages)
    check_stages(names)
    given = {k.replace("_", "-"): options.pop(k) for k in list(options) if k.replace("_", "-") in TASKS}
    strays = sorted(set(given) - set(names))
    if strays:
        raise UsageError(f"options for {', '.join(strays)}, which is not a stage of {','.join(names)}")
    if "model" in options:
        raise UsageError(f"each stage names its own model: {names[0].replace('-', '_')}={{'model': ...}}")
    unknown = set(options) - _ENGINE_FIELDS
    if unknown:
        raise UsageError(
            f"unknown option(s): {', '.join(sorted(unknown))} (known: the stages' names and "
            f"{', '.join(sorted(_ENGINE_FIELDS - {'model'}))})"
        )
    engine = _engine(options)
    chain = []
    for name in names:
        values = given.get(name) or {}
        if not isinstance(values, dict):
            raise UsageError(f"{name}: its options are a dict, got {type(values).__name__}")
        shared = sorted(set(values) & (_ENGINE_FIELDS - {"model"}))
        if shared:
            raise UsageError(
                f"{name}: {', '.join(shared)}: engine options are every stage's; give them apart"
            )
        stage_engine, task_options, _ = _split(name, values, set())
        chain.append((get_task(name), task_options, dataclasses.replace(engine, model=stage_engine.model)))
    return Pipeline(open_chain(chain))
