"""The task registry: the one list of tasks. Each is a folder, `msimg/tasks/<name>/`, holding

- `options.py`: its options dataclass (each field's command-line flag and help), `SUMMARY` and `HELP`;
  light, as the CLI builds every command from it at start-up;
- `task.py`: `TASK`, how it restores an image from the engine's primitives;
- `training.py` (if it trains models): `RECIPES` and `objective(recipe)`;
- `bench.py` (if benchmarked): `bench(limit, peers) -> str`, its section of BENCHMARKS.md.

The CLI commands, `msimg train`, `msimg eval`, the benchmark's `--only` and the demo are all made from
this list; a task's modules are imported on first use, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from msimg.errors import UsageError

if TYPE_CHECKING:
    from msimg.engine.task import Task

__all__ = ["TASKS", "check_stages", "get_task", "reader_of", "task_module"]

TASKS: dict[str, str] = {
    "demosaic": "msimg.tasks.demosaic",
    "denoise": "msimg.tasks.denoise",
    "deblur": "msimg.tasks.deblur",
    "super-resolve": "msimg.tasks.super_resolve",
    "dehaze": "msimg.tasks.dehaze",
    "segment": "msimg.tasks.segment",
    "dejpeg": "msimg.tasks.dejpeg",
}


def task_module(name: str, part: str) -> ModuleType | None:
    """A task's `part` module (options, task, training, bench), None if the task has none."""
    if name not in TASKS:
        raise UsageError(f"unknown task '{name}' (tasks: {', '.join(TASKS)})")
    try:
        return importlib.import_module(f"{TASKS[name]}.{part}")
    except ModuleNotFoundError as err:
        if err.name != f"{TASKS[name]}.{part}":
            raise
        return None


def get_task(name: str) -> Task:
    module = task_module(name, "task")
    assert module is not None, f"{name} has no task module"
    return module.TASK


def check_stages(names: Sequence[str]) -> None:
    """Refuse stages (`msimg run`, `msimg.pipeline`) that are none, empty, unknown or given twice (a
    stage's options are named by its task)."""
    if not names:
        raise UsageError("no stages given")
    for name in names:
        if not name.strip():
            raise UsageError(f"an empty stage in '{','.join(names)}'")
        if name not in TASKS:
            raise UsageError(f"unknown stage '{name}' (stages: {', '.join(TASKS)})")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"{', '.join(twice)} given twice; each stage runs once")


def reader_of(suffix: str) -> str | None:
    """The task that reads files of `suffix` (lower case) that no image reader does (demosaic: RAW), if
    any; imports task modules until it finds it."""
    return next((name for name in TASKS if suffix in get_task(name).suffixes), None)
