"""Options shared by every task command, defined once and added to each command's signature."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from msimg.cluster import ClusterOptions, parse_cluster
from msimg.engine.options import DEFAULT_DECODE_TIMEOUT, DEFAULT_MAX_PIXELS, EngineOptions, OutputOptions
from msimg.tasks.fields import auto_or

ENGINE = "Engine"
OUTPUT = "Output"
REPORTING = "Reporting"
GRAPH = "Your ONNX model"
CLUSTER = "Cluster"


def parse_tile(value: str) -> int | None:
    """`auto` -> None, `0` -> whole image, N -> core size."""
    return auto_or(int, "--tile", "0 (no tiling) or a size in pixels")(value)


@dataclass(frozen=True)
class CommonArgs:
    """The common options of a task command, as the user gave them."""

    inputs: list[str]
    output: str | None
    fmt: str
    quality: int
    suffix: str
    overwrite: bool
    device: str
    precision: str
    tile: str
    tile_overlap: int
    batch: int
    model: str | None
    backend: str
    model_order: str
    model_range: float
    model_scale: int
    json: bool
    quiet: bool
    max_megapixels: float
    decode_timeout: float
    cluster: str | None
    workers: int
    gpus_per_worker: float

    def engine(self) -> EngineOptions:
        tile = parse_tile(self.tile)
        return EngineOptions(
            self.device,
            self.precision,
            tile,
            self.tile_overlap,
            self.batch,
            self.model,
            self.backend,
            self.model_order,
            self.model_range,
            self.model_scale,
        )

    def output_options(self) -> OutputOptions:
        return OutputOptions(self.fmt, self.quality, int(self.max_megapixels * 1e6), self.decode_timeout)

    def cluster_options(self) -> ClusterOptions | None:
        return parse_cluster(self.cluster, self.workers, self.gpus_per_worker)


_COMMON: dict[str, tuple[Any, Any]] = {
    "inputs": (
        Annotated[
            list[str], typer.Argument(help="Image files, folders (walked recursively) or globs; - for stdin.")
        ],
        ...,
    ),
    "output": (
        Annotated[
            str | None,
            typer.Option(
                "--output",
                "-o",
                help="Output folder (or file, for one input; - for stdout). "
                "Default: a sibling <input>-<task>.",
                rich_help_panel=OUTPUT,
            ),
        ],
        None,
    ),
    "fmt": (
        Annotated[str, typer.Option("--format", help="png|jpg|tif|webp|bmp|same.", rich_help_panel=OUTPUT)],
        "same",
    ),
    "quality": (Annotated[int, typer.Option(help="JPEG/WebP quality 1-100.", rich_help_panel=OUTPUT)], 95),
    "suffix": (
        Annotated[str, typer.Option(help="Appended to each output's stem.", rich_help_panel=OUTPUT)],
        "",
    ),
    "overwrite": (
        Annotated[
            bool,
            typer.Option(
                help="Redo finished outputs (default: skip them, so re-runs resume).", rich_help_panel=OUTPUT
            ),
        ],
        False,
    ),
    "device": (
        Annotated[
            str,
            typer.Option(
                help="auto|cpu|cuda|cuda:N|mps; a missing device is an error.", rich_help_panel=ENGINE
            ),
        ],
        "auto",
    ),
    "precision": (
        Annotated[
            str,
            typer.Option(
                help="auto|fp32|fp16|bf16 (auto: fp32 on CPU, fp16 on GPU; bf16 rounds only the "
                "network's matrix products).",
                rich_help_panel=ENGINE,
            ),
        ],
        "auto",
    ),
    "tile": (
        Annotated[
            str,
            typer.Option(
                help="auto (the model's size for the device, halved to fit free memory), 0 (no tiling) "
                "or a tile size in pixels.",
                rich_help_panel=ENGINE,
            ),
        ],
        "auto",
    ),
    "tile_overlap": (
        Annotated[
            int, typer.Option(help="Extra blended overlap between tiles, pixels.", rich_help_panel=ENGINE)
        ],
        16,
    ),
    "batch": (Annotated[int, typer.Option(help="Tiles per forward pass.", rich_help_panel=ENGINE)], 1),
    "model": (
        Annotated[
            str | None,
            typer.Option(
                help="Shipped model name, a weights file (.safetensors, .pth) or an image-to-image ONNX "
                "graph (.onnx).",
                rich_help_panel=ENGINE,
            ),
        ],
        None,
    ),
    "backend": (
        Annotated[
            str,
            typer.Option(
                help="auto|torch|onnxruntime|openvino: what runs the network (auto: the fastest installed "
                "for this model, precision and device; the openvino and onnxruntime extras install them).",
                rich_help_panel=ENGINE,
            ),
        ],
        "auto",
    ),
    "model_order": (
        Annotated[
            str,
            typer.Option(help="rgb|bgr: the channel order an ONNX --model takes.", rich_help_panel=GRAPH),
        ],
        "rgb",
    ),
    "model_range": (
        Annotated[
            float,
            typer.Option(help="1|255: the value range an ONNX --model works in.", rich_help_panel=GRAPH),
        ],
        1.0,
    ),
    "model_scale": (
        Annotated[
            int,
            typer.Option(
                help="The scale of an ONNX --model, if you want it checked (0: found by running it).",
                rich_help_panel=GRAPH,
            ),
        ],
        0,
    ),
    "json": (
        Annotated[
            bool,
            typer.Option(
                "--json",
                help="One JSON object per file on stdout, then a summary.",
                rich_help_panel=REPORTING,
            ),
        ],
        False,
    ),
    "quiet": (
        Annotated[
            bool,
            typer.Option(
                "--quiet",
                "-q",
                help="No progress or summary; errors still go to stderr.",
                rich_help_panel=REPORTING,
            ),
        ],
        False,
    ),
    "max_megapixels": (
        Annotated[
            float,
            typer.Option(
                help="Refuse images larger than this (checked from the header).", rich_help_panel=ENGINE
            ),
        ],
        DEFAULT_MAX_PIXELS / 1e6,
    ),
    "decode_timeout": (
        Annotated[
            float,
            typer.Option(
                help="Seconds one file may take to decode (0: no limit); a file over it fails, the batch "
                "goes on.",
                rich_help_panel=ENGINE,
            ),
        ],
        DEFAULT_DECODE_TIMEOUT,
    ),
    "cluster": (
        Annotated[
            str | None,
            typer.Option(
                help="ray or ray:ADDRESS: restore on a Ray cluster's workers (ray alone starts one on this "
                "machine); the output folder must be one every node shares.",
                rich_help_panel=CLUSTER,
            ),
        ],
        None,
    ),
    "workers": (
        Annotated[
            int,
            typer.Option(
                help="Ray workers, each with its own model (0: one per node, on all its cores).",
                rich_help_panel=CLUSTER,
            ),
        ],
        0,
    ),
    "gpus_per_worker": (
        Annotated[float, typer.Option(help="GPUs each Ray worker takes (0: none).", rich_help_panel=CLUSTER)],
        0.0,
    ),
}


def task_command(
    func: Callable[..., Any], omit: Collection[str] = (), inputs: Any = None
) -> Callable[..., Any]:
    """Give a task command the common options; they reach it as one `common: CommonArgs` argument.

    A command may declare a common option itself (segment's `fmt`, whose values are its output kinds;
    dejpeg's `quality`, the input's): its own declaration is the one on the command line, and `common`
    keeps that option's default. A common option in `omit` is not on the command line at all, and keeps
    its default; `inputs` annotates the arguments otherwise (`msimg run`: the stages come first, and each
    stage names its model by its own option).
    """
    hints = typing.get_type_hints(func, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(func).parameters.values()
        if p.name != "common"
    ]
    own_names = {p.name for p in own}
    kept = own_names | set(omit)  # reach `common` with their defaults
    kw = inspect.Parameter.KEYWORD_ONLY
    common = [
        inspect.Parameter(n, kw, default=d, annotation=a)
        for n, (a, d) in _COMMON.items()
        if n != "inputs" and n not in kept
    ]
    arguments = inputs if inputs is not None else _COMMON["inputs"][0]
    params = [inspect.Parameter("inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=arguments)]
    params += [p.replace(kind=kw) for p in own] + common

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        args = CommonArgs(**{n: _COMMON[n][1] if n in kept else kwargs.pop(n) for n in _COMMON})
        return func(common=args, **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper
