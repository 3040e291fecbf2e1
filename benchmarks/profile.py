"""Where a network's time goes on this CPU: FLOPs per pixel, GFLOP/s achieved against what the CPU can do,
time per kind of layer, one thread against all, and for a large photo the share of decoding, the model,
encoding and the tiles' overlap. `python -m benchmarks.profile` prints the tables for BENCHMARKS.md."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from msimg.engine.device import load_model
from msimg.engine.tiling import spans
from msimg.models.weights import shipped_spec

MODELS = (
    "denoise-real",
    "deblur-gunet",
    "sr-real-x2",
    "dehaze-gunet",
    "dejpeg-gunet",
    "segment-boundary",
    "demosaic-swin",
)
WINDOW = 608  # a tile of 512 with the U-Nets' context of 48 on each side
KINDS = {
    "convolution": ("convolution", "conv2d", "mkldnn_convolution"),
    "matrix products": ("addmm", "aten::mm", "bmm", "linear", "matmul"),
    "attention": ("scaled_dot_product", "_flash_attention"),
    "copies and layout": (
        "copy_",
        "cat",
        "pixel_shuffle",
        "pixel_unshuffle",
        "contiguous",
        "permute",
        "index",
        "pad",
        "constant_pad",
    ),
}


def _input(name: str, channels: int) -> torch.Tensor:
    x = torch.rand(1, channels, WINDOW, WINDOW, generator=torch.Generator().manual_seed(0))
    if name.startswith("demosaic"):
        x[:, 1:5] = (x[:, 1:5] > 0.5).float()
    return x.contiguous(memory_format=torch.channels_last)


def _seconds(module: torch.nn.Module, x: torch.Tensor, runs: int = 3) -> float:
    with torch.inference_mode():
        module(x)
        t0 = time.perf_counter()
        for _ in range(runs):
            module(x)
    return (time.perf_counter() - t0) / runs


def _kind(op: str) -> str:
    return next((k for k, names in KINDS.items() if any(n in op for n in names)), "other (norms, gates, ...)")


def peak_matmul() -> float:
    """GFLOP/s of a large fp32 matrix product: what this CPU's BLAS reaches at best, all threads."""
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    a @ b
    t0 = time.perf_counter()
    for _ in range(5):
        a @ b
    return 5 * 2 * 2048**3 / (time.perf_counter() - t0) / 1e9


def model_table() -> str:
    threads = torch.get_num_threads()
    rows, kind_rows = [], []
    for name in MODELS:
        model = load_model(shipped_spec(name), torch.device("cpu"), backend="torch")
        module, desc = model.module, model.descriptor
        x = _input(name, desc.in_channels)
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            module(x)
        flops = counter.get_total_flops() / WINDOW**2
        both = _seconds(module, x)
        torch.set_num_threads(1)
        one = _seconds(module, x)
        torch.set_num_threads(threads)
        with profile(activities=[ProfilerActivity.CPU]) as prof, torch.inference_mode():
            module(x)
        by_kind: dict[str, float] = defaultdict(float)
        for event in prof.key_averages():
            by_kind[_kind(event.key)] += event.self_cpu_time_total
        total = sum(by_kind.values())
        gflops = flops * WINDOW**2 / both / 1e9
        rows.append(
            f"| {name} | {flops / 1e3:.0f} k | {gflops:.1f} | {WINDOW**2 / both / 1e6:.2f} | "
            f"{one / both:.2f} |"
        )
        shares = ", ".join(
            f"{k} {100 * v / total:.0f} %" for k, v in sorted(by_kind.items(), key=lambda i: -i[1])
        )
        kind_rows.append(f"| {name} | {shares} |")
    return "\n".join(
        [
            f"Per network, one {WINDOW}x{WINDOW} window in eager torch fp32 ({threads} threads):",
            "",
            "| network | FLOPs per pixel | GFLOP/s achieved | MP/s (window) | 1 thread / 2 threads (time) |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Share of the operators' own time by kind (torch profiler, the same window):",
            "",
            "| network | time by kind |",
            "|---|---|",
            *kind_rows,
        ]
    )


def split_table(photo: Path) -> str:
    """Decode, model (denoise-real, tiled as the engine tiles) and encode of one large photo."""
    from msimg.api import session
    from msimg.io.read import read_image
    from msimg.io.write import write_image

    t0 = time.perf_counter()
    image = read_image(photo, 10**9)
    decode = time.perf_counter() - t0
    run = session("denoise", sigma=15, backend="torch")
    t0 = time.perf_counter()
    out, tile = run.restore(image.pixels)
    model = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_image(photo.with_name("profile-out.png"), type(image)(out, image.meta), "png", 95)
    encode = time.perf_counter() - t0
    photo.with_name("profile-out.png").unlink()
    h, w = image.pixels.shape[:2]
    desc = run.model.descriptor
    rows, cols = (spans(desc.size.padded(n), tile, desc.context, 16, desc.size.multiple_of) for n in (h, w))
    read = sum(r.stop - r.start for r in rows) * sum(c.stop - c.start for c in cols)
    total = decode + model + encode
    return "\n".join(
        [
            f"One {w}x{h} photo ({w * h / 1e6:.0f} MP, 8-bit PNG), `denoise --sigma 15`, eager torch:",
            "",
            "| step | seconds | share |",
            "|---|---|---|",
            f"| decode (PNG) | {decode:.1f} | {100 * decode / total:.0f} % |",
            f"| model, tile {tile} | {model:.1f} | {100 * model / total:.0f} % |",
            f"| encode (PNG) | {encode:.1f} | {100 * encode / total:.0f} % |",
            "",
            f"The windows read {read / (w * h):.2f}x the image's pixels (context and overlap included).",
        ]
    )


if __name__ == "__main__":
    import sys

    from msimg.engine.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line runs

    print(f"fp32 matrix product, 2048x2048, {torch.get_num_threads()} threads: {peak_matmul():.0f} GFLOP/s\n")
    print(model_table())
    if len(sys.argv) > 1:
        print()
        print(split_table(Path(sys.argv[1])))
