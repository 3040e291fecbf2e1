"""Model name or path -> LoadedModel on a device, in a precision."""

from __future__ import annotations

from pathlib import Path

import torch

from msimg.engine.descriptor import LoadedModel
from msimg.engine.device import resolve_dtype
from msimg.errors import UsageError, WeightsError
from msimg.models.weights import ModelSpec, load_manifest, shipped_spec, user_spec

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt")


def resolve_spec(task: str, model: str | None, default: str) -> ModelSpec:
    """`--model` as a shipped name or a weights path; None is the task's default shipped model.

    A task may run another task's model (deblur with a known kernel runs the denoiser as its prior): the
    model must then be one of that kind, as the default is. A named model must also be of the default's
    architecture, since the options chose it (dehaze --method dcp runs the dark channel prior, not a
    network). A name that fits none of this is a usage error: nothing has run yet.
    """
    runs = load_manifest()[default]["task"] if default in load_manifest() else task
    if model is None or model in load_manifest():
        name = model or default
        if name not in load_manifest():
            raise WeightsError(
                f"no shipped '{task}' model '{name}' in {Path('weights/manifest.json')}; "
                f"train it with `msimg train {task}` or pass --model PATH"
            )
        spec = shipped_spec(name)
    elif model.endswith(WEIGHT_SUFFIXES) or Path(model).exists():
        fallback = shipped_spec(default) if default in load_manifest() else None
        spec = user_spec(Path(model), runs, fallback)
    else:
        known = ", ".join(n for n, e in sorted(load_manifest().items()) if e["task"] == runs) or "none"
        raise UsageError(f"unknown model '{model}' (shipped {runs} models: {known})")
    if spec.task != runs:
        why = "" if runs == task else f" ({task} runs a {runs} model with these options)"
        raise UsageError(f"model '{spec.name}' is a {spec.task} model, not {runs}{why}")
    chosen = load_manifest()[default]["architecture"] if default in load_manifest() else spec.architecture
    if spec.architecture != chosen:
        raise UsageError(
            f"model '{spec.name}' is a {spec.architecture}, but these options run a {chosen} ({default}); "
            "drop --model or change the options"
        )
    return spec


def load_model(spec: ModelSpec, device: torch.device, precision: str = "auto") -> LoadedModel:
    from msimg.models.weights import build_module

    desc = spec.descriptor()
    dtype = resolve_dtype(precision, device, desc.dtypes)
    # channels_last: up to 2x faster convolutions on CPU (oneDNN) and on tensor-core GPUs
    module = build_module(spec).eval().to(device=device, dtype=dtype, memory_format=torch.channels_last)
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel(desc, module, device, dtype)
