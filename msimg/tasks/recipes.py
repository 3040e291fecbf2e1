"""Every shipped model's recipe, gathered from the tasks' `training.py` through the registry.
`python -m msimg.tasks.recipes [NAME...]` (`make weights`) retrains them exactly as recorded in
weights/manifest.json, in the registry's order (a model is trained after the one it starts from)."""

from __future__ import annotations

import sys
from typing import Any

from msimg.models.weights import save_manifest_entry, training_weights_dir
from msimg.tasks import TASKS, task_module
from msimg.train.loop import Objective, Recipe


def recipes() -> dict[str, Recipe]:
    """Name -> recipe of every trained model."""
    found: dict[str, Recipe] = {}
    for task in TASKS:
        module = task_module(task, "training")
        if module is not None:
            found.update(module.RECIPES)
    return found


def analytic() -> dict[str, dict[str, Any]]:
    """Name -> manifest entry of every model without weights (classical methods)."""
    found: dict[str, dict[str, Any]] = {}
    for task in TASKS:
        module = task_module(task, "training")
        if module is not None:
            found.update(getattr(module, "ANALYTIC", {}))
    return found


def trainable() -> list[str]:
    """The tasks that train a model."""
    return [t for t in TASKS if task_module(t, "training") is not None]


def objective_for(recipe: Recipe) -> Objective:
    module = task_module(recipe.task, "training")
    assert module is not None, f"{recipe.task} trains nothing"
    return module.objective(recipe)


def write_analytic(name: str) -> None:
    """A model without weights of its own: a classical method (no parameters), or one composed of shipped
    models (their parameters, counted from their files)."""
    from msimg.models.weights import ModelSpec, build_module

    spec = analytic()[name]
    module = build_module(ModelSpec(name, spec["task"], spec["architecture"], spec["config"], None))
    parameters = sum(p.numel() for p in module.parameters())
    entry = {"name": name, "file": None, "sha256": None, "parameters": parameters, "scale": 1, **spec}
    save_manifest_entry(entry)


def main(names: list[str]) -> int:
    from msimg.train.loop import train

    every, classical = recipes(), analytic()
    for name in names or [*every, *classical]:
        if name in classical:
            write_analytic(name)
            continue
        recipe = every[name]
        out = training_weights_dir() / f"{name}.safetensors"
        train(recipe, objective_for(recipe), out, training_weights_dir().parent / "runs" / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
