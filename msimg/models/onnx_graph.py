"""Users' own image-to-image ONNX graphs (the format chaiNNer, upscayl-style tools and model collections
publish), as a model of the tiled engine: `--model path/to/model.onnx`.

What the engine needs is read from the graph or found by running it on a small image: the input's
channels, whether its height and width are fixed, the scale (output size over input size) and the size
multiple it needs. What a graph cannot say (channel order, value range) comes from the user, as does the
scale when they want to state it. ONNX Runtime or OpenVINO runs the graph, whichever `--backend` names
(auto: OpenVINO, then ONNX Runtime).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from msimg.errors import UsageError, WeightsError
from msimg.models.descriptor import Traits

RUNTIMES = ("openvino", "onnxruntime")
CONTEXT = 32  # the reach assumed of a graph nobody measured: a few tens of pixels, as SR networks have
_PROBE = 64


@dataclass(frozen=True)
class GraphFacts:
    """What running the graph showed: `fixed` is its (height, width) when it takes no other size."""

    channels: int
    scale: int
    multiple: int
    fixed: tuple[int, int] | None


def runtime_for(requested: str) -> str:
    """The runtime of a user's graph: `--backend`, or for auto the first of `RUNTIMES` installed."""
    from msimg import backends

    requested = requested.strip().lower()
    have = backends.installed()
    if requested == "auto":
        found = next((r for r in RUNTIMES if r in have), None)
        if found is None:
            raise UsageError("an ONNX model needs onnxruntime or openvino: pip install 'msimg[openvino]'")
        return found
    if requested not in RUNTIMES:
        raise UsageError(f"--backend {requested} cannot run an ONNX graph; use auto, {' or '.join(RUNTIMES)}")
    if requested not in have:
        raise UsageError(f"--backend {requested} is not installed (pip install 'msimg[{requested}]')")
    return requested


@functools.cache
def _runner(graph: str, runtime: str) -> Any:
    threads = torch.get_num_threads()
    try:
        if runtime == "openvino":
            from msimg.backends.openvino import OvRunner

            return OvRunner(Path(graph), threads)
        from msimg.backends.onnxruntime import OrtRunner

        return OrtRunner(Path(graph), threads)
    except Exception as err:  # the runtimes raise their own types for files they cannot read
        why = (str(err).strip().splitlines() or [type(err).__name__])[-1][:120]
        raise WeightsError(f"{graph}: not an ONNX graph {runtime} can load ({why})") from err


def _shape(dims: list[Any]) -> str:
    return "(" + ", ".join(str(d) if isinstance(d, int) else "?" for d in dims) + ")"


def _runs(runner: Any, channels: int, h: int, w: int) -> tuple[int, ...] | None:
    """The output shape for a (1, channels, h, w) input, or None when the graph refuses that size."""
    try:
        return tuple(runner.run_array(np.full((1, channels, h, w), 0.5, np.float32)).shape)
    except Exception:  # a runtime's shape error, in its own type
        return None


@functools.cache
def facts(graph: str, runtime: str, scale: int = 0) -> GraphFacts:
    """Run the graph on small images to learn what it does; a graph msimg cannot use is refused with the
    shapes it has, in words."""
    runner = _runner(graph, runtime)
    given, made = runner.shapes()
    shapes = f"input {_shape(given)}, output {_shape(made)}"
    if len(given) != 4:
        raise UsageError(f"{graph}: {shapes}: msimg runs graphs of one (N, C, H, W) image")
    channels = given[1] if isinstance(given[1], int) else 3
    if channels != 3:
        raise UsageError(f"{graph}: {shapes}: msimg feeds graphs 3-channel images (RGB or BGR)")
    fixed = (given[2], given[3]) if isinstance(given[2], int) and isinstance(given[3], int) else None
    h, w = fixed or (_PROBE, _PROBE)
    out = _runs(runner, channels, h, w)
    if out is None or len(out) != 4 or out[1] != 3 or out[2] % h or out[3] % w or out[2] // h != out[3] // w:
        got = _shape(list(out)) if out is not None else "an error"
        raise UsageError(
            f"{graph}: {shapes}: a ({channels}, {h}, {w}) image gave {got}; msimg runs graphs that turn an "
            "RGB image into an RGB image an integer number of times larger"
        )
    found = out[2] // h
    if scale and scale != found:
        raise UsageError(f"{graph}: --model-scale {scale}, but the graph makes images {found}x larger")
    multiple = 1
    if fixed is None:  # the smallest size step it takes: U-Nets and window attention need multiples
        multiple = next(
            (
                m
                for m in (1, 2, 4, 8, 16, 32)
                if _runs(runner, channels, h + m, w + m) == (1, 3, (h + m) * found, (w + m) * found)
            ),
            64,
        )
    return GraphFacts(channels, found, multiple, fixed)


class OnnxGraph(nn.Module):
    """A user's ONNX graph as a module: RGB in [0, 1] in, RGB in [0, 1] out, `order` and `value_range`
    converted on the way; windows smaller than a fixed-size graph's input are padded to it."""

    def __init__(
        self,
        graph: str,
        runtime: str = "auto",
        order: str = "rgb",
        value_range: float = 1.0,
        scale: int = 0,
        feeds: int = 3,
    ) -> None:
        super().__init__()
        if order not in ("rgb", "bgr"):
            raise UsageError(f"--model-order must be rgb or bgr, got '{order}'")
        if value_range not in (1.0, 255.0):
            raise UsageError(f"--model-range must be 1 or 255, got {value_range:g}")
        self.runtime = runtime_for(runtime)
        self.facts = facts(graph, self.runtime, scale)
        self.runner = _runner(graph, self.runtime)
        self.order, self.value_range = order, value_range

    @staticmethod
    def describe(**config: Any) -> Traits:
        graph = config["graph"]
        found = facts(graph, runtime_for(config.get("runtime", "auto")), config.get("scale", 0))
        context = CONTEXT if found.fixed is None else max(4, min(CONTEXT, min(found.fixed) // 4))
        return Traits(
            in_channels=config.get("feeds", 3),  # what the task builds; the graph sees its colour
            out_channels=3,
            multiple_of=found.multiple,
            receptive_radius=context,
            context=context,
            memory_per_pixel=4 * 64 * 16 * found.scale**2,  # unknown: room for a wide SR network
            scale=found.scale,
            dtypes=("fp32",),
            maximum=0 if found.fixed is None else min(found.fixed),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :3].float()
        if self.order == "bgr":
            x = x.flip(1)
        h, w = x.shape[2:]
        if self.facts.fixed is not None:  # a window at the image's edge: pad it to the graph's size
            fh, fw = self.facts.fixed
            x = F.pad(x, (0, fw - w, 0, fh - h), mode="replicate")
        y = self.runner(x * self.value_range) / self.value_range
        y = y[..., : h * self.facts.scale, : w * self.facts.scale]
        return y.flip(1) if self.order == "bgr" else y
