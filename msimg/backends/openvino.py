"""OpenVINO: networks converted straight from torch once (cached as IR), and users' own `.onnx` graphs.

Compiled once with dynamic shapes, and in bf16 again per window shape that repeats (`OvRunner._request`).
Precision is set, never left to the plugin, whose default on CPUs with bf16 instructions is bf16.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from msimg.io.atomic import temp_path_for

_COMPILED = 4  # static shapes kept compiled: one per image size, plus the last batch of a row of tiles


def convert(module: torch.nn.Module, channels: int, size: int, path: Path) -> None:
    """Convert `module` to OpenVINO IR (`path`, .xml, and its .bin) with dynamic shapes, atomically: the
    .bin lands first, so an .xml on disk always has its weights (kept in fp32: the IR's default
    compresses them to fp16)."""
    import openvino as ov

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path).with_suffix(".xml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes the conversion keeps dynamic
        model = ov.convert_model(module, example_input=torch.rand(1, channels, size, size))
    ov.save_model(model, str(tmp), compress_to_fp16=False)
    try:
        os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_suffix(".bin")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


class OvRunner:
    """One graph (IR or ONNX file) on OpenVINO's CPU plugin: (N, C, H, W) float32 tensors in and out."""

    def __init__(self, path: Path, threads: int, precision: str = "fp32") -> None:
        import openvino as ov

        self.core = ov.Core()
        if path.suffix.lower() == ".onnx":  # only the ONNX reader: the others would try (and log) theirs
            from openvino.frontend import FrontEndManager

            frontend = FrontEndManager().load_by_framework("onnx")
            self.model = frontend.convert(frontend.load(str(path)))
        else:
            self.model = self.core.read_model(str(path))
        self.config = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
        }
        self.half = self.model.inputs[0].get_element_type().get_type_name() == "f16"
        self.any_shape: Any = None  # the graph as converted (dynamic, or a fixed-size graph's own)
        self.static: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.seen: dict[tuple[int, ...], int] = {}

    def shapes(self) -> tuple[list[Any], list[Any]]:
        """The graph's first input and output shapes (None for a dynamic axis)."""

        def dims(port: Any) -> list[Any]:
            return [None if d.is_dynamic else d.get_length() for d in port.get_partial_shape()]

        return dims(self.model.inputs[0]), dims(self.model.outputs[0])

    def _request(self, shape: tuple[int, ...]) -> Any:
        """The dynamic graph, compiled once; in bf16, a shape seen twice gets a graph compiled for it
        alone, which runs 20-25 % faster (in fp32 the dynamic one is as fast), so a large image's tiles
        pay that compile once and a folder of small images of many sizes never."""
        if shape in self.static:
            self.static.move_to_end(shape)
            return self.static[shape]
        dynamic = self.model.inputs[0].get_partial_shape().is_dynamic
        self.seen[shape] = self.seen.get(shape, 0) + 1
        if dynamic and self.config["INFERENCE_PRECISION_HINT"] == "bf16" and self.seen[shape] > 1:
            model = self.model.clone()
            model.reshape({model.inputs[0]: list(shape)})
            self.static[shape] = self.core.compile_model(model, "CPU", self.config).create_infer_request()
            if len(self.static) > _COMPILED:
                self.static.popitem(last=False)
            return self.static[shape]
        if self.any_shape is None:
            self.any_shape = self.core.compile_model(self.model, "CPU", self.config).create_infer_request()
        return self.any_shape

    def run_array(self, x: np.ndarray) -> np.ndarray:
        """float32 in and out, whatever the graph's own float type; a copy, as the request reuses its
        output buffer on the next call."""
        y = self._request(tuple(x.shape)).infer({0: x.astype(np.float16) if self.half else x})[0]
        return np.array(y, dtype=np.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run_array(np.ascontiguousarray(x.detach().cpu().float().numpy())))
