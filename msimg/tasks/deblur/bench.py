"""`make bench` for this task: its section of BENCHMARKS.md.

Deblur: the same held-out images blurred by four fixed kernels plus noise of sigma 1/255; scikit-image's
Richardson-Lucy and Wiener get the true kernel and settings tuned on training images, and unsharp masking
one setting tuned over all kernels.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from msimg.ops.metrics import psnr
from msimg.tasks.benchkit import DemoKit, ImageFn, best, held_out, measure, session

if TYPE_CHECKING:
    import torch


def blurred_copy(clean: np.ndarray, spec: str | torch.Tensor, seed: int) -> np.ndarray:
    """`clean` blurred by kernel `spec` (or the kernel itself; reflecting borders, as in training), noise
    1/255, 8 bits."""
    import torch

    from msimg.ops.kernels import parse
    from msimg.train.degrade import blur

    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float()
    out = blur(x, [parse(spec) if isinstance(spec, str) else spec])[0].permute(1, 2, 0).numpy()
    out = out + np.random.default_rng(seed).normal(0, 1.0, out.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _skimage_per_channel(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, margin: int) -> np.ndarray:
    """Run a 2-D scikit-image deconvolution on each channel of the reflect-padded image, so the
    peers are not penalised for their FFT's periodic borders (msimg handles borders itself)."""
    f = np.pad(x.astype(np.float64) / 255, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")
    out = np.stack([fn(f[..., c]) for c in range(f.shape[2])], axis=2)[margin:-margin, margin:-margin]
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def richardson_lucy(spec: str, iterations: int) -> ImageFn:
    from skimage.restoration import richardson_lucy as rl

    from msimg.ops.kernels import parse

    psf = parse(spec).double().numpy()
    return lambda x: _skimage_per_channel(
        lambda c: rl(c, psf, num_iter=iterations, clip=True), x, 2 * psf.shape[0]
    )


def wiener_peer(spec: str, balance: float) -> ImageFn:
    from skimage.restoration import wiener

    from msimg.ops.kernels import parse

    psf = parse(spec).double().numpy()
    return lambda x: _skimage_per_channel(lambda c: wiener(c, psf, balance, clip=True), x, 2 * psf.shape[0])


def unsharp(radius: float, amount: float) -> ImageFn:
    """Unsharp masking, x + amount (x - Gaussian(x, sigma=radius)), the classic blind sharpener."""

    def run(x: np.ndarray) -> np.ndarray:
        f = x.astype(np.float32)
        out = f + amount * (f - cv2.GaussianBlur(f, (0, 0), radius, borderType=cv2.BORDER_REFLECT))
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    return run


def bench_shake(val: list[tuple[str, np.ndarray]]) -> list[str]:
    """Curved camera shake, outside the families the kernel is sought in: one seeded path per image."""
    import torch

    from msimg.ops.kernels import shake

    found, network = session("deblur"), session("deblur", kernel="network")
    scores: dict[str, list[float]] = {"blurred input": [], "msimg blind": [], "msimg --kernel network": []}
    scores["msimg --kernel (true, as a PSF image)"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (_, clean) in enumerate(val):
            k = shake(torch.Generator().manual_seed(i))
            psf = Path(tmp) / f"{i}.png"
            cv2.imwrite(str(psf), np.round(k.numpy() / float(k.max()) * 65535).astype(np.uint16))
            y = blurred_copy(clean, k, i)
            true = session("deblur", kernel=str(psf))
            for name, fn in zip(scores, [lambda x: x, found, network, true], strict=True):
                scores[name].append(psnr(y if name == "blurred input" else fn.restore(y)[0], clean))
    lines = [
        "",
        f"Curved camera shake (`kernels.shake`, up to 21 px, one seeded path per image), outside the "
        f"families the blind mode looks in; the first {len(val)} held-out images, noise 1/255, 8 bits:",
        "",
        "| method | PSNR (dB) |",
        "|---|---|",
    ]
    for name, ps in scores.items():
        print(f"  shake         {name:<44} PSNR {np.mean(ps):.2f}", flush=True)
        lines.append(f"| {name} | {np.mean(ps):.2f} |")
    return lines


def bench(limit: int | None, peers: bool) -> str:
    from msimg.tasks.deblur.training import VALIDATION_KERNELS

    val, tune = held_out(limit)
    found, network = session("deblur"), session("deblur", kernel="network")
    pairs = {
        spec: [(blurred_copy(c, spec, 1000 * i + j), c) for i, (_, c) in enumerate(val)]
        for j, spec in enumerate(VALIDATION_KERNELS)
    }
    tune_pairs = {spec: [(blurred_copy(c, spec, 7), c) for c in tune] for spec in VALIDATION_KERNELS}
    if peers:
        grid = {f"radius {r}, amount {a}": unsharp(r, a) for r in (1, 2, 4) for a in (0.5, 1.0, 2.0)}
        sharpen = best([p for ps in tune_pairs.values() for p in ps], grid)
    lines = [
        f"Validation: the same {len(val)} held-out images (centre crops of at most 512x512), blurred with "
        "reflecting borders, noise sigma 1/255, rounded to 8 bits. PSNR/SSIM on RGB over the whole image, "
        "borders included. msimg blind (the default) finds the kernel in the image's spectrum among "
        "Gaussians, disks and linear motion, then deconvolves with it; `--kernel network` is the blind "
        "network. Richardson-Lucy and Wiener (scikit-image) get the true kernel, the image "
        "reflect-padded by twice the kernel size, and their iterations / balance tuned per kernel on "
        "training images; unsharp masking gets one setting tuned on training images over all kernels.",
        "",
        "| kernel | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|",
    ]
    totals: dict[str, list[float]] = {}
    for spec in VALIDATION_KERNELS:
        methods: list[tuple[str, ImageFn]] = [
            ("blurred input", lambda x: x),
            ("msimg blind (kernel found in the image)", lambda x: found.restore(x)[0]),
            ("msimg --kernel network", lambda x: network.restore(x)[0]),
            ("msimg --kernel (true)", lambda x, s=session("deblur", kernel=spec): s.restore(x)[0]),
        ]
        if peers:
            rls = {f"{n} iterations": richardson_lucy(spec, n) for n in (10, 20, 40, 80)}
            wieners = {f"balance {b}": wiener_peer(spec, b) for b in (0.003, 0.01, 0.03, 0.1)}
            rl, wn = best(tune_pairs[spec], rls), best(tune_pairs[spec], wieners)
            methods += [
                (f"Richardson-Lucy, true kernel ({rl})", rls[rl]),
                (f"Wiener, true kernel ({wn})", wieners[wn]),
                (f"unsharp mask ({sharpen})", grid[sharpen]),
            ]
        for name, fn in methods:
            p, q, mps = measure(fn, pairs[spec])
            totals.setdefault(name.split(" (")[0].split(",")[0], []).append(p)
            speed = "" if name == "blurred input" else f"{mps:.3f}"
            print(f"  {spec:<13} {name:<44} PSNR {p:.2f}  SSIM {q:.4f}  {speed} MP/s", flush=True)
            lines.append(f"| `{spec}` | {name} | {p:.2f} | {q:.4f} | {speed} |")
    lines += ["", "Mean PSNR over the four kernels:", "", "| method | PSNR (dB) |", "|---|---|"]
    lines += [f"| {name} | {np.mean(ps):.2f} |" for name, ps in totals.items()]
    return "\n".join(lines + bench_shake(val[:12]))


DEMO_KERNEL = "motion:15,30"


def add_blur(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera shake (a 15-pixel motion at 30 degrees) and noise of 1/255, as in the benchmark."""
    return blurred_copy(px, DEMO_KERNEL, int(rng.integers(1 << 30)))


def demo(kit: DemoKit, out: Path) -> int:
    blurred_dir, blind_dir, known_dir = out / "blurred", out / "deblurred", out / "deblurred-known-kernel"
    inputs = kit.degrade(blurred_dir, add_blur)
    code = max(
        kit.run("deblur", blurred_dir, blind_dir, "--overwrite"),
        kit.run("deblur", blurred_dir, known_dir, "--kernel", DEMO_KERNEL, "--overwrite"),
    )
    if code == 0:
        kit.report(inputs, {"blind": blind_dir, "--kernel": known_dir}, f"blur {DEMO_KERNEL}")
        print(f"inputs: {blurred_dir}\nresults: {blind_dir}, {known_dir}")
    return code
