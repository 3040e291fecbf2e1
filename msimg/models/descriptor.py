"""What the engine needs to know about a model, kept apart from the `nn.Module` itself."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


# The core size `--tile auto` starts from on a CPU, which keeps a window's feature maps near the caches.
# A network whose context weighs more than that on small windows says so (`cpu_tile`: the gated U-Nets,
# the demosaicer; BENCHMARKS.md, tiles); `auto_tile` halves either to fit a quarter of free memory.
CPU_TILE = 512


@dataclass(frozen=True)
class Traits:
    """What an architecture's config means for the engine: each architecture's `describe(**config)`
    returns it. `receptive_radius` is the exact reach of one output pixel in input pixels; `context` is how
    much real image a tile's core needs around it, which the architecture sets below the radius where it
    measured the far reach to weigh nothing (within 1/255); `memory_per_pixel` the rough peak bytes per
    input pixel at batch 1 in fp32."""

    in_channels: int
    out_channels: int
    multiple_of: int
    receptive_radius: int
    context: int
    memory_per_pixel: int
    scale: int = 1
    tiling: str = "supported"
    dtypes: tuple[str, ...] = ("fp32", "bf16", "fp16")
    period: int = 1
    backends: tuple[str, ...] = ("torch",)  # in fp32 on a CPU, fastest first; `auto` stops at torch
    maximum: int = 0  # the largest window side it takes (a fixed-size graph's input); 0: any
    bf16_backends: tuple[str, ...] | None = None  # the same in bf16; None: as in fp32
    cpu_tile: int = CPU_TILE  # the core size `--tile auto` takes on a CPU when memory allows

    def preferred(self, precision: str) -> tuple[str, ...]:
        """`backends` for `precision` (fp32, bf16)."""
        return self.bf16_backends if precision == "bf16" and self.bf16_backends is not None else self.backends


# Whole photos on a 2-core CPU, paired runs (BENCHMARKS.md, backends): in fp32, eager torch (with
# `engine.allocator` keeping freed memory) runs the plain U-Nets faster than OpenVINO, which fuses the
# elementwise work but not as much as eager torch now saves in page faults; the dehazer's attention gates
# and dark-channel head still run faster fused. In bf16 OpenVINO was the faster for all of them until the
# U-Nets' norm was fused: eager torch now runs the gated U-Nets and the boundary network faster in bf16 too.
EAGER_FIRST = ("torch",)
CONVERTIBLE = ("openvino", "onnxruntime", "torch")
BF16_CONVERTIBLE = ("openvino", "torch")  # ONNX Runtime runs fp32 only

# The U-Nets' reach that matters: their radius runs to hundreds of pixels, but beyond 48 the gradients of
# an output pixel are below what 1/255 can show (tiled == whole is tested for every shipped model).
UNET_REACH = 48


@dataclass(frozen=True)
class SizeReq:
    """Input sizes the model accepts: at least `minimum`, and a multiple of `multiple_of` (down-sampling)."""

    minimum: int = 1
    multiple_of: int = 1
    maximum: int = 0  # windows no larger than this (a fixed-size graph pads smaller ones); 0: any

    def padded(self, n: int) -> int:
        """Smallest accepted size >= n."""
        n = max(n, self.minimum)
        return math.ceil(n / self.multiple_of) * self.multiple_of


@dataclass(frozen=True)
class ModelDescriptor:
    """A model's contract with the engine.

    `context` is the receptive-field radius in input pixels: a tile's core is exact when it has this much
    real image around it. `tiling` is "supported" or "whole-image" (a model with global operations, whose
    output would change if cut). `memory_per_pixel` is the rough peak bytes per input pixel at batch 1 in
    fp32; it sizes `--tile auto`. `period` is the pattern period of a mosaic input (demosaic): padding keeps
    the phase, and `size.multiple_of` must be a multiple of it so tiles start in phase.
    """

    name: str
    task: str
    architecture: str
    scale: int = 1
    in_channels: int = 3
    out_channels: int = 3
    size: SizeReq = SizeReq()
    context: int = 16
    tiling: str = "supported"
    dtypes: tuple[str, ...] = ("fp32", "bf16", "fp16")
    memory_per_pixel: int = 4096
    period: int = 1
    backends: tuple[str, ...] = ("torch",)
    bf16_backends: tuple[str, ...] = ("torch",)
    cpu_tile: int = CPU_TILE

    def preferred(self, precision: str) -> tuple[str, ...]:
        """The backends that run it fastest in `precision` (fp32, bf16) on a CPU, fastest first."""
        return self.bf16_backends if precision == "bf16" else self.backends


@dataclass(frozen=True)
class LoadedModel:
    """A descriptor with its module, already moved to a device and dtype, in eval mode. `autocast` is the
    dtype its matrix products run in when that is not `dtype` (bf16: weights, inputs and everything
    precision-sensitive stay fp32). Calling it runs the `backend` that was chosen: the module itself
    (torch) or the module converted to another runtime (`msimg.backends`), in the same precision."""

    descriptor: ModelDescriptor
    module: torch.nn.Module
    device: torch.device
    dtype: torch.dtype
    autocast: torch.dtype | None = None
    backend: str = "torch"
    run: Callable[[torch.Tensor], torch.Tensor] | None = None  # the backend's graph; None: the module

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x) if self.run is None else self.run(x)

    def route(self, x: torch.Tensor) -> str | None:
        """For a model made of several networks, which one runs on a window like `x`, in words; None for
        a single network."""
        route = getattr(self.module, "route", None)
        return route(x) if route is not None else None
