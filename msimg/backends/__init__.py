"""Inference backends: one model, run by eager PyTorch, ONNX Runtime or OpenVINO.

OpenVINO and ONNX Runtime fuse the elementwise work between convolutions, with the same outputs
(BENCHMARKS.md, backends); whether that beats eager PyTorch depends on the network and the precision.
Each architecture lists the backends that run it fast and right, fastest first, per precision
(`Traits.backends`, `Traits.bf16_backends`); `auto` takes the first one installed that runs on the
device, or eager torch where it comes first. A backend gets the torch module and returns a callable of
the same contract, (N, C, H, W) float32 in and out, so the tiled engine does not know which one runs.

The converted graphs are cached on disk per weights sha256 (`cache`), and each is checked against the
torch module on an input of another size before it is used: a conversion that traced a shape into a
constant, or an operator a backend runs differently, is refused rather than trusted.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

from msimg.errors import UsageError

if TYPE_CHECKING:
    import torch

BACKENDS = ("torch", "onnxruntime", "openvino")
CPU_ONLY = ("onnxruntime", "openvino")  # as msimg runs them: their CPU providers and plugins

Runner = Callable[["torch.Tensor"], "torch.Tensor"]


def installed() -> list[str]:
    """The backends this Python can import (torch always)."""
    return ["torch", *(b for b in CPU_ONLY if importlib.util.find_spec(b) is not None)]


def candidates(requested: str, preferred: tuple[str, ...], device: str) -> list[str]:
    """The backends other than torch to try, in order: `requested` if it can run on `device` (its type:
    cpu, cuda, mps), or for `auto` the model's `preferred` ones (fastest first) that come before torch
    and are installed and runnable there. Eager torch runs whatever these cannot."""
    requested = requested.strip().lower()
    if requested not in ("auto", *BACKENDS):
        raise UsageError(f"unknown backend '{requested}' (use auto, {', '.join(BACKENDS)})")
    have = installed()
    if requested == "auto":
        faster = preferred[: preferred.index("torch")] if "torch" in preferred else preferred
        return [b for b in faster if b in have and b in CPU_ONLY and device == "cpu"]
    if requested not in have:
        raise UsageError(f"--backend {requested} is not installed (pip install 'msimg[{requested}]')")
    if requested in CPU_ONLY and device != "cpu":
        raise UsageError(f"--backend {requested} runs on the CPU only; use --device cpu or --backend torch")
    return [] if requested == "torch" else [requested]


def prepare(
    backend: str, module: torch.nn.Module, channels: int, multiple: int, sha256: str, precision: str
) -> Runner:
    """`module` as a runner on `backend` (onnxruntime, openvino), from the cached graph or converted now,
    then checked against the module itself; `precision` is fp32 or bf16 (OpenVINO only)."""
    if backend == "onnxruntime" and precision != "fp32":
        raise UsageError(f"--backend onnxruntime runs fp32 only; --precision {precision} needs another")
    try:
        runner = _load(backend, module, channels, multiple, sha256, precision)
    except Exception as err:  # a converter's or runtime's own error, in many types
        from msimg.errors import ModelError

        raise ModelError(f"cannot run the network on {backend}: {type(err).__name__}: {err}") from err
    _check(module, runner, channels, multiple, precision)
    return runner


def _load(
    backend: str, module: torch.nn.Module, channels: int, multiple: int, sha256: str, precision: str
) -> Runner:
    import torch

    from msimg.backends.cache import graph_path

    size = -(-64 // multiple) * multiple
    threads = torch.get_num_threads()
    if backend == "onnxruntime":
        from msimg.backends import onnxruntime as rt

        path = graph_path(sha256, backend, channels, f"torch{torch.__version__}-opset{rt.OPSET}", ".onnx")
        if not path.is_file():
            rt.export(module, channels, size, path)
        runner: Runner = rt.OrtRunner(path, threads)
    else:
        from msimg.backends import openvino as ovr

        version = f"ov{importlib.metadata.version('openvino')}-torch{torch.__version__}"
        path = graph_path(sha256, backend, channels, version, ".xml")
        if not path.is_file():
            ovr.convert(module, channels, size, path)
        runner = ovr.OvRunner(path, threads, precision)
    return runner


def _check(module: torch.nn.Module, runner: Runner, channels: int, multiple: int, precision: str) -> None:
    """Refuse a graph that does not compute what the module computes, on a size it was not traced at."""
    import torch

    from msimg.errors import ModelError

    h, w = (-(-n // multiple) * multiple for n in (80, 56))
    x = torch.rand(1, channels, h, w, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = module(x)
    got = runner(x)
    worst = (got - expected).abs().max().item() if got.shape == expected.shape else float("inf")
    if not worst <= (0.05 if precision == "bf16" else 1e-3):
        raise ModelError(f"the converted graph differs from the network by {worst:.3g}; use --backend torch")
