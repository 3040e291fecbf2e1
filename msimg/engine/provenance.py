"""What makes an output (task, weights, options, precision), recorded beside it so a re-run redoes an
output made otherwise instead of skipping it silently, and `msimg report` can show each file's figures.
A chain's recipe (`engine.chain`) is its name and each stage's recipe, in order."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from msimg.engine.session import Restorer, Session
from msimg.io.discover import Job
from msimg.io.records import read_records
from msimg.models.weights import fingerprint

_LOSSY = (".jpg", ".jpeg", ".webp")


def _precision(session: Session) -> str:
    model = session.model
    if model.autocast is not None:
        return "bf16"
    return {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(model.dtype, "fp32")


def _user_fields(options: Any) -> list[dataclasses.Field[Any]]:
    """The options a user sets (not those a task fills in per image, like dejpeg's `source`)."""
    return [f for f in dataclasses.fields(options) if f.init and f.compare]


def _recipe(session: Session) -> dict[str, Any]:
    spec = session.spec
    sha = None if spec is None else fingerprint(spec)
    options = {f.name: getattr(session.options, f.name) for f in _user_fields(session.options)}
    made = {
        "task": session.task.name,
        "model": session.model.descriptor.name,
        "model_sha256": sha,
        "options": options,
        "precision": _precision(session),
        "backend": session.backend,  # said, not compared: the backends give the same result
    }
    return made


def made_by(restorer: Restorer) -> dict[str, Any]:
    """The recipe of the outputs, as plain JSON values (tuples as lists, paths as text), so it compares
    equal to the same recipe read back from a records file: one session's, or a chain's stages'."""
    recipes = [_recipe(stage) for stage in restorer.stages]
    made = recipes[0] if len(recipes) == 1 else {"task": restorer.task.name, "stages": recipes}
    return json.loads(json.dumps(made, default=str))


def recipe_for(made: dict[str, Any], output: Path, quality: int) -> dict[str, Any]:
    """`made` for one output: the quality only where the format is lossy (it changes nothing else)."""
    return {**made, "quality": quality} if output.suffix.lower() in _LOSSY else made


def signature(recipe: dict[str, Any]) -> str:
    """A short digest of a recipe, for scripts reading the records (re-runs compare the recipes)."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def _value(value: Any) -> str:
    """An option's value as typed: None is `auto`, 25.0 is 25."""
    if value is None:
        return "auto"
    return f"{value:g}" if isinstance(value, float) else str(value)


def option_defaults(restorer: Restorer) -> dict[str, dict[str, Any]]:
    """Each stage's option defaults by task, as JSON values: what an older record that lacks a newer
    option ran with."""
    defaults = {s.task.name: {f.name: f.default for f in _user_fields(s.options)} for s in restorer.stages}
    return json.loads(json.dumps(defaults, default=str))


def _stage_changes(old: dict[str, Any], new: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """What differs between one stage's recipe in a record and in this run, in the command line's words.
    Values compare as numbers (a record's 10 is this run's 10.0); an option the record lacks had its
    default."""
    said = []
    if old.get("model") != new["model"]:
        said.append(f"model {old.get('model')} -> {new['model']}")
    elif old.get("model_sha256") != new["model_sha256"]:
        said.append("other weights")
    before_all, now_all = old.get("options") or {}, new["options"]
    for name in sorted(set(before_all) | set(now_all)):
        before = before_all.get(name, defaults.get(name))
        now = now_all.get(name, defaults.get(name))
        if before != now:
            said.append(f"--{name.replace('_', '-')} {_value(before)} -> {_value(now)}")
    if old.get("precision") != new["precision"]:
        said.append(f"--precision {_value(old.get('precision'))} -> {_value(new['precision'])}")
    return said


def _changes(old: dict[str, Any], new: dict[str, Any], defaults: dict[str, dict[str, Any]]) -> list[str]:
    """What differs between the recipe of a record and this run's; a chain's stages say their names
    (`denoise --sigma 10 -> 30`). The record is of the same task (or chain of the same stages)."""
    if "stages" in new:
        pairs = zip(old.get("stages") or [], new["stages"], strict=False)
        said = [f"{n['task']} {c}" for o, n in pairs for c in _stage_changes(o, n, defaults[n["task"]])]
    else:
        said = _stage_changes(old, new, defaults[new["task"]])
    if old.get("quality") != new.get("quality"):
        said.append(f"--quality {_value(old.get('quality'))} -> {_value(new.get('quality'))}")
    return said


def reconcile(
    jobs: Sequence[Job], made: dict[str, Any], quality: int, defaults: dict[str, dict[str, Any]]
) -> list[Job]:
    """Outputs that exist (planned as skips): kept when their record says these settings made them,
    redone when it says this task made them otherwise (the note says what changed), kept with a note
    when another task made them or no record says (`--overwrite` redoes those)."""
    folders: dict[Path, dict[str, dict[str, Any]]] = {}
    result = []
    for job in jobs:
        if not job.skip or job.output is None:
            result.append(job)
            continue
        if job.output.parent not in folders:
            folders[job.output.parent] = read_records(job.output.parent)
        record = folders[job.output.parent].get(job.output.name)
        if record is None:
            job = dataclasses.replace(job, note="exists, made by unknown settings")
        elif record.get("task") != made["task"]:
            job = dataclasses.replace(job, note=f"exists, made by msimg {record.get('task')}")
        elif changes := _changes(record, recipe_for(made, job.output, quality), defaults):
            job = dataclasses.replace(job, skip=False, note=f"redone: made earlier with {', '.join(changes)}")
        result.append(job)
    return result


def record(
    made: dict[str, Any], source: Path | None, output: Path, quality: int, seconds: float, megapixels: float
) -> dict[str, Any]:
    """The records-file line of `output`, just written from `source` (None: stdin), without its figures
    of what the task found (the caller adds them) and its name (`append_record` adds it)."""
    recipe = recipe_for(made, output, quality)
    return {
        "input": str(source.resolve()) if source is not None else "-",
        **recipe,
        "signature": signature(recipe),
        "seconds": round(seconds, 3),
        "megapixels": round(megapixels, 4),
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "msimg": _version(),
    }


@functools.cache
def _version() -> str:
    """The installed version, from the package metadata (the package root imports the engine)."""
    try:
        return importlib.metadata.version("msimg")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
