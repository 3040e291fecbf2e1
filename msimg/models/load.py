"""`--model` (a shipped name or a weights path) -> the ModelSpec to build; the engine places it on a device
(`engine.device.load_model`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msimg.errors import UsageError, WeightsError
from msimg.models.weights import ModelSpec, load_manifest, parts, shipped_spec, user_spec

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".onnx")


def resolve_spec(
    task: str, model: str | None, default: str, graph_io: dict[str, Any] | None = None
) -> ModelSpec:
    """`--model` as a shipped name or a weights path; None is the model the options chose (`default`).

    A task may run another task's model (deblur with a known kernel runs the denoiser as its prior). A named
    model must be of the kind, architecture and scale the options chose, and a method without weights (the
    dark channel prior, superpixels) takes none: otherwise the options would be silently overruled. Such
    a conflict, or an unknown name, is a usage error: nothing has run yet. A user's ONNX graph stands in
    for the network at whatever scale it has (super-resolve resizes to the scale asked); `graph_io` says
    how to feed one (`--model-order/-range/-scale` and `--backend`: `models.onnx_graph`).
    """
    manifest = load_manifest()
    chosen = manifest.get(default)
    runs = chosen["task"] if chosen else task
    if model is None or model in manifest:
        name = model or default
        if name not in manifest:
            raise WeightsError(
                f"no shipped '{task}' model '{name}' in {Path('weights/manifest.json')}; "
                f"train it with `msimg train {task}` or pass --model PATH"
            )
        spec = shipped_spec(name)
    elif model.endswith(WEIGHT_SUFFIXES) or Path(model).exists():
        if chosen and chosen["file"] is None:
            raise UsageError(f"these options run {default}, which has no weights; drop --model {model}")
        spec = user_spec(Path(model), runs, shipped_spec(default) if chosen else None, graph_io)
    else:
        known = ", ".join(n for n, e in sorted(manifest.items()) if e["task"] == runs) or "none"
        raise UsageError(f"unknown model '{model}' (shipped {runs} models: {known})")
    if spec.task != runs:
        why = "" if runs == task else f" ({task} runs a {runs} model with these options)"
        raise UsageError(f"model '{spec.name}' is a {spec.task} model, not {runs}{why}")
    fits = not chosen or (spec.architecture, spec.scale) in _accepted(chosen)
    if not fits and spec.architecture != "onnx":  # a user's graph is taken as it is, at its own scale
        raise UsageError(
            f"--model {model} does not fit these options, which run {default}; drop --model or change "
            "the options (--method, --scale)"
        )
    return spec


def _accepted(entry: dict) -> set[tuple[str, int]]:
    """The (architecture, scale) pairs that may stand in for a manifest entry: its own, and its parts'
    when it is composed of shipped models (`pattern-switch`)."""
    specs = [shipped_spec(n) for n in parts(entry["architecture"], entry["config"])]
    return {(entry["architecture"], entry.get("scale", 1))} | {(s.architecture, s.scale) for s in specs}
