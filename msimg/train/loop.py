"""The training loop shared by every task: AdamW + cosine schedule, periodic validation, checkpoints and
resume, a progress bar with loss and ETA, a log file, and export to weights/ with a manifest entry."""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import load_file
from tqdm import tqdm

from msimg.errors import UsageError
from msimg.models.registry import architecture
from msimg.models.weights import save_manifest_entry, save_weights, shipping_dir, training_weights_dir
from msimg.train.data import CropSampler, split, validation_crops


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a shipped model; recorded next to its weights."""

    name: str
    task: str
    architecture: str
    config: dict[str, Any]
    data: tuple[str, ...]
    steps: int
    batch: int = 8
    crop: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 200
    seed: int = 0
    val_fraction: float = 0.1
    val_crop: int = 256
    val_every: int = 1000
    bf16: bool = False
    scale: int = 1
    init: str | None = None  # weights to start from (tensors of matching shape), e.g. x4 from x2
    extra: dict[str, Any] = field(default_factory=dict)


class Objective(Protocol):
    """What a task adds to training: how clean crops become (model input, target) pairs, how a model
    output becomes what the user sees (`present`, where loss and metrics are taken), and the loss."""

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]: ...

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]: ...

    def present(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor: ...

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def load(self, path: Path) -> np.ndarray: ...

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, float]: ...


def data_path(folder: str) -> Path:
    """Recipes record data folders relative to the project root, so they resolve the same from anywhere."""
    path = Path(folder)
    return path if path.is_absolute() else (training_weights_dir().parent / path).resolve()


def lr_at(step: int, recipe: Recipe) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak."""
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    t = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
    return recipe.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def evaluate(
    model: torch.nn.Module, cases: list[tuple[str, torch.Tensor, torch.Tensor]], objective: Objective
) -> dict[str, float]:
    """Mean of the objective's scores per case kind (e.g. psnr_s25) over the validation cases."""
    sums: dict[str, list[float]] = {}
    model.eval()
    with torch.inference_mode():
        for kind, x, target in cases:
            for name, value in objective.scores(objective.present(model(x), x), target).items():
                sums.setdefault(f"{name}_{kind}", []).append(value)
    model.train()
    return {k: round(float(np.mean(v)), 4) for k, v in sums.items()}


def _grown(old: torch.Tensor, new: torch.Tensor) -> torch.Tensor | None:
    """`old` inside the shape of `new` when `new` only has more input channels (dim 1): the extra inputs
    start with zero weights, so the model begins exactly as the one it grew from."""
    if old.dim() < 2 or old.shape[:1] + old.shape[2:] != new.shape[:1] + new.shape[2:]:
        return None
    if old.shape[1] >= new.shape[1]:
        return None
    out = torch.zeros_like(new)
    out[:, : old.shape[1]] = old
    return out


def _warm_start(model: torch.nn.Module, path: Path) -> str:
    """Copy the tensors of `path` that fit `model` (a different ending is trained afresh); a layer that
    gained input channels keeps its old weights for the old ones."""
    own = model.state_dict()
    start, grown = {}, []
    for k, v in load_file(str(path)).items():
        if k not in own:
            continue
        if own[k].shape == v.shape:
            start[k] = v
        elif (g := _grown(v.to(own[k].dtype), own[k])) is not None:
            start[k] = g
            grown.append(k)
    model.load_state_dict(start, strict=False)
    fresh = sorted(set(own) - set(start))
    return (
        f"{len(start)} tensors copied ({len(grown)} grown: {', '.join(grown) or 'none'}), "
        f"{len(fresh)} fresh ({', '.join(fresh) or 'none'})"
    )


@dataclass
class _Log:
    path: Path

    def write(self, line: str) -> None:
        with open(self.path, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def train(
    recipe: Recipe,
    objective: Objective,
    out: Path,
    run_dir: Path,
    resume: bool = False,
    on_log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train `recipe`, write `out` (+ manifest entry when `out` is in weights/); returns the entry."""
    ckpt = run_dir / "last.pt"
    state = torch.load(ckpt, map_location="cpu", weights_only=False) if resume and ckpt.exists() else None
    if state is not None and state.get("recipe", asdict(recipe)) != asdict(recipe):  # our own checkpoint
        raise UsageError(
            f"{ckpt} was made by another recipe (other data, steps, seed or batch); resuming it would "
            "export the wrong model under this recipe's name: give another --run-dir or drop --resume"
        )
    torch.manual_seed(recipe.seed)
    data = split([data_path(d) for d in recipe.data], recipe.val_fraction)  # fails before anything is made
    run_dir.mkdir(parents=True, exist_ok=True)
    log = _Log(run_dir / "train.log")
    sampler = CropSampler(data.train, recipe.crop, recipe.seed, objective.load)
    cases = [
        c
        for i, crop in enumerate(validation_crops(data.validation, recipe.val_crop, objective.load))
        for c in objective.validation_cases(crop, i)
    ]
    model = architecture(recipe.architecture)(**recipe.config).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(
        model.parameters(), lr=recipe.lr, betas=(0.9, 0.9), weight_decay=recipe.weight_decay
    )
    gen = torch.Generator().manual_seed(recipe.seed)
    step, seconds, history = 0, 0.0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        sampler.rng.bit_generator.state = state["sampler"]
        step, seconds, history = state["step"], state["seconds"], state["history"]
        log.write(f"resumed at step {step}")
    elif recipe.init:
        log.write(f"started from {recipe.init}: {_warm_start(model, data_path(recipe.init))}")
    log.write(f"recipe {json.dumps(asdict(recipe))}")
    log.write(f"train {len(data.train)} images, validation {len(data.validation)} images, {len(cases)} cases")
    model.train()
    bar = tqdm(total=recipe.steps, initial=step, desc=recipe.name, dynamic_ncols=True, mininterval=2)
    avg = None
    while step < recipe.steps:
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, recipe)
        x, target = objective.degrade(sampler.batch(recipe.batch), gen)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16):
            pred = model(x)
        loss = objective.loss(objective.present(pred.float(), x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seconds += time.perf_counter() - t0
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{avg:.4f}", lr=f"{lr_at(step, recipe):.1e}")
        if step % 100 == 0:
            log.write(f"step {step} loss {avg:.5f} lr {lr_at(step, recipe):.2e} {seconds / step:.3f} s/step")
        if step % recipe.val_every == 0 or step == recipe.steps:
            metrics = evaluate(model, cases, objective)
            history.append({"step": step, **metrics})
            line = f"validation step {step}: " + ", ".join(f"{k} {v}" for k, v in metrics.items())
            state = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "gen": gen.get_state(),
                "sampler": sampler.rng.bit_generator.state,
                "step": step,
                "seconds": seconds,
                "history": history,
                "recipe": asdict(recipe),
            }
            torch.save(state, run_dir / "last.tmp")
            (run_dir / "last.tmp").replace(ckpt)
            log.write(line)
            bar.write(line)
            if on_log is not None:
                on_log(line)
    bar.close()
    sha = save_weights(model, out, recipe.architecture, recipe.task, recipe.scale)
    model.load_state_dict(load_file(str(out)))  # measure what ships: the file's fp16 tensors
    metrics = evaluate(model, cases, objective)
    entry = {
        "name": out.stem,
        "task": recipe.task,
        "file": out.name,
        "architecture": recipe.architecture,
        "config": model.config_dict(),
        "scale": recipe.scale,
        "parameters": sum(p.numel() for p in model.parameters()),
        "training": {
            **{
                k: v
                for k, v in asdict(replace(recipe, name=out.stem)).items()
                if k not in ("config", "architecture")
            },
            "train_images": len(data.train),
            "validation_images": [p.name for p in data.validation],
            "seconds": round(seconds, 1),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip()
            + f", torch {torch.__version__}, {torch.get_num_threads()} threads",
        },
        "metrics": metrics,
        "sha256": sha,
    }
    home = shipping_dir()
    if home is not None and out.resolve().parent == home.resolve():
        save_manifest_entry(entry)
    log.write(f"wrote {out} sha256 {sha}")
    return entry
