"""`msimg train`: retrain a shipped model from its recorded recipe, with overrides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer

from msimg.errors import UsageError


def train(
    task: Annotated[str, typer.Argument(help="The task whose model to train (denoise, ...).")],
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="Image folder(s) to crop from; default: the recipe's.")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Optimiser steps; default: the recipe's.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Weights file to write; in the weights folder (weights/, or $MSIMG_WEIGHTS) it joins the "
            "manifest. Default: there, for the recipe as recorded; in the run folder when --data, --steps, "
            "--seed or --batch change it (shipped weights are replaced only by their recipe or by --out)."
        ),
    ] = None,
    recipe: Annotated[
        str | None, typer.Option(help="Recipe name; default: the task's shipped model.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; default: the recipe's.")] = None,
    batch: Annotated[int | None, typer.Option(help="Crops per step; default: the recipe's.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the run folder's last checkpoint.")
    ] = False,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            help="Checkpoints and train.log; default: runs/<weights name> in this folder, tagged with a hash "
            "of the changes for an experiment, so it never resumes the recipe's own run."
        ),
    ] = None,
) -> None:
    """Train or retrain a task's model from its recipe, on CPU cores or a GPU.

    Random crops, degradations made afresh at every step, AdamW with a cosine schedule, validation on a
    held-out split, checkpoints and resume.

    Examples (the first retrains the shipped model from its recipe, as `make weights` does):

      msimg train denoise

      msimg train denoise --data ~/photos --steps 2000 --out my-denoise.safetensors
    """
    from dataclasses import replace

    from msimg.models.weights import training_weights_dir
    from msimg.tasks import get_task
    from msimg.tasks.recipes import objective_for, recipes, trainable
    from msimg.train.loop import train as run_training

    if task not in trainable():
        raise UsageError(f"no training objective for '{task}' (trainable: {', '.join(trainable())})")
    every = recipes()
    shipped = get_task(task).default_model  # the model the task runs, not an earlier stage of it
    first = next((n for n, r in every.items() if r.task == task), None)
    name = recipe or (shipped if shipped in every else first)
    if name is None or name not in every:
        raise UsageError(f"no recipe '{name}' (recipes: {', '.join(sorted(every))})")
    chosen = every[name]
    if chosen.task != task:
        raise UsageError(f"recipe '{name}' trains {chosen.task}, not {task}")
    overrides = {
        "data": tuple(str(d.resolve()) for d in data) if data else None,
        "steps": steps,
        "seed": seed,
        "batch": batch,
    }
    changed = {k: v for k, v in overrides.items() if v is not None}
    chosen = replace(chosen, **changed)
    digest = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()
    tag = f"-{digest[:8]}" if changed else ""  # an experiment's own folder, apart from the recipe's run
    home = Path("runs") / f"{name}{tag}" if changed else training_weights_dir()
    target = out or home / f"{name}.safetensors"
    run_dir = run_dir or Path("runs") / f"{target.stem}{tag}"
    entry = run_training(chosen, objective_for(chosen), target, run_dir, resume)
    typer.echo(
        f"wrote {target} (sha256 {entry['sha256'][:12]}...): "
        + ", ".join(f"{k} {v}" for k, v in entry["metrics"].items())
    )
