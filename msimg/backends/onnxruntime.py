"""ONNX Runtime: networks exported to ONNX once (cached), and users' own `.onnx` graphs."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from msimg.io.atomic import temp_path_for

OPSET = 17


def export(module: torch.nn.Module, channels: int, size: int, path: Path) -> None:
    """Write `module` as an ONNX graph with dynamic batch, height and width, atomically. The legacy
    (TorchScript) exporter: the dynamo one needs onnxscript, and these networks have no control flow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    x = torch.rand(1, channels, size, size)
    axes = {0: "n", 2: "h", 3: "w"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings
        torch.onnx.export(
            module,
            (x,),
            str(tmp),
            dynamo=False,
            opset_version=OPSET,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": axes, "y": axes},
        )
    os.replace(tmp, path)


class OrtRunner:
    """One graph in an ONNX Runtime CPU session: (N, C, H, W) float32 tensors in and out."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its warnings about unused initialisers are not the user's
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = self.session.get_inputs()
        self.outputs = self.session.get_outputs()
        self.half = self.inputs[0].type == "tensor(float16)"  # fp16 graphs are common

    def shapes(self) -> tuple[list[Any], list[Any]]:
        """The graph's first input and output shapes (a name or None for a dynamic axis)."""
        return list(self.inputs[0].shape), list(self.outputs[0].shape)

    def run_array(self, x: np.ndarray) -> np.ndarray:
        """float32 in and out, whatever the graph's own float type."""
        y = self.session.run(None, {self.inputs[0].name: x.astype(np.float16) if self.half else x})[0]
        return y.astype(np.float32, copy=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run_array(np.ascontiguousarray(x.detach().cpu().float().numpy())))
