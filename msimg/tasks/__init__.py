"""Task registry: name -> "module:attr", imported on first use so the CLI starts fast."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from msimg.errors import UsageError

if TYPE_CHECKING:
    from msimg.tasks.base import Task

__all__ = ["TASKS", "get_task"]

TASKS: dict[str, str] = {
    "deblur": "msimg.tasks.deblur:TASK",
    "dehaze": "msimg.tasks.dehaze:TASK",
    "demosaic": "msimg.tasks.demosaic:TASK",
    "denoise": "msimg.tasks.denoise:TASK",
    "segment": "msimg.tasks.segment:TASK",
    "super-resolve": "msimg.tasks.super_resolve:TASK",
}


def get_task(name: str) -> Task:
    try:
        module, attr = TASKS[name].split(":")
    except KeyError:
        raise UsageError(f"unknown task '{name}' (tasks: {', '.join(sorted(TASKS))})") from None
    return getattr(importlib.import_module(module), attr)
