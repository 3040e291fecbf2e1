"""`make bench` for this task: its section of BENCHMARKS.md.

Denoise: the held-out validation split of the shipped recipe (never trained on), centre crops of at most
512x512, 8-bit PNG-equivalent inputs with seeded Gaussian noise clipped to [0, 255]; PSNR/SSIM on RGB.
Peers run in the same process on the same inputs: colour BM3D (`bm3d` package, true sigma), OpenCV
fastNlMeansDenoisingColored (h tuned on training images), and the noisy input itself. Then camera noise:
the same images through training's held-out camera case (noise in linear light, Menon demosaic, colour
matrix, sRGB, JPEG 90), blind, against the white-noise model and BM3D with a sigma tuned on training crops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from msimg.io.read import read_image
from msimg.ops.metrics import psnr, ssim
from msimg.tasks.benchkit import DemoKit, best, held_out, measure, session, to_uint8

SIGMAS = (15, 25, 50)


Denoiser = Callable[[np.ndarray, float], np.ndarray]


def noisy_copy(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(clean + rng.normal(0, sigma, clean.shape)), 0, 255).astype(np.uint8)


def nlm_for(tune: list[np.ndarray], sigma: float) -> tuple[Denoiser, float]:
    """OpenCV NLM with h picked from a grid on training images (not the validation set)."""

    def nlm(h: float) -> Denoiser:
        def run(x: np.ndarray, s: float) -> np.ndarray:
            bgr = cv2.cvtColor(x, cv2.COLOR_RGB2BGR)
            window = 5 if s > 30 else 3  # OpenCV's advice: larger template windows for strong noise
            out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, window, 21)
            return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)

        return run

    best = max(
        (np.mean([psnr(nlm(f * sigma)(noisy_copy(im, sigma, 7), sigma), im) for im in tune]), f)
        for f in (0.6, 0.75, 0.9, 1.05)
    )
    return nlm(best[1] * sigma), best[1] * sigma


def bm3d_denoiser(x: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    out = bm3d.bm3d_rgb(x.astype(np.float32) / 255.0, sigma / 255.0)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def msimg_denoiser(auto: bool, model: str | None = None) -> Denoiser:
    sessions: dict[float, object] = {}

    def run(x: np.ndarray, sigma: float) -> np.ndarray:
        key = -1.0 if auto else sigma
        if key not in sessions:
            sessions[key] = session("denoise", model=model, sigma=None if auto else sigma)
        return sessions[key].restore(x)[0]  # type: ignore[attr-defined]

    return run


def score(name: str, fn: Denoiser, val: list[tuple[str, np.ndarray]], sigma: float) -> dict[str, float]:
    ps, ss, secs, mp = [], [], 0.0, 0.0
    for i, (_, clean) in enumerate(val):
        noisy = noisy_copy(clean, sigma, 1000 * i + int(sigma))
        t0 = time.perf_counter()
        out = fn(noisy, sigma)
        secs += time.perf_counter() - t0
        mp += clean.shape[0] * clean.shape[1] / 1e6
        ps.append(psnr(out, clean))
        ss.append(ssim(out, clean))
    row = {
        "psnr": float(np.mean(ps)),
        "ssim": float(np.mean(ss)),
        "mps": mp / secs if secs > 0 else float("inf"),
    }
    print(
        f"  sigma {sigma:>2} {name:<28} PSNR {row['psnr']:.2f}  SSIM {row['ssim']:.4f}  "
        f"{row['mps']:.3f} MP/s",
        flush=True,
    )
    return row


def camera_pairs(images: list[np.ndarray], first: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(camera photo, clean) pairs through training's held-out camera case, seeded from `first`."""
    import torch

    from msimg.tasks.denoise.training import camera_case

    pairs = []
    for i, clean in enumerate(images, start=first):
        shot = camera_case(torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255, i)
        pairs.append((to_uint8(shot), clean))
    return pairs


def camera_table(val: list[tuple[str, np.ndarray]], tune: list[np.ndarray], peers: bool) -> list[str]:
    pairs = camera_pairs([c for _, c in val])
    white, default = session("denoise", model="denoise-gunet"), session("denoise")
    methods: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        ("camera photo (input)", lambda x: x),
        ("msimg --model denoise-gunet (white noise only) --sigma auto", lambda x: white.restore(x)[0]),
        ("msimg --sigma auto (default: denoise-real)", lambda x: default.restore(x)[0]),
    ]
    if peers:
        grid: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            f"{s:g}": (lambda x, s=s: bm3d_denoiser(x, s)) for s in (8.0, 12.0, 16.0, 24.0)
        }
        sigma = best(camera_pairs(tune, first=len(val)), grid)
        methods.append((f"colour BM3D (sigma {sigma}, tuned on training crops)", grid[sigma]))
    lines = []
    for name, fn in methods:
        p, s, mps = measure(fn, pairs)
        print(f"  camera {name:<60} PSNR {p:.2f}  SSIM {s:.4f}  {mps:.3f} MP/s", flush=True)
        speed = "" if name.startswith("camera photo") else f"{mps:.3f}"
        lines.append(f"| camera | {name} | {p:.2f} | {s:.4f} | {speed} |")
    return lines


def bench(limit: int | None, peers: bool) -> str:
    from msimg.tasks.denoise.training import CAMERA_CASE, CAMERA_QUALITY

    val, tune = held_out(limit)
    camera = ", ".join(f"{k} {v}" for k, v in CAMERA_CASE.items())
    mp = sum(c.shape[0] * c.shape[1] for _, c in val) / 1e6
    print(f"denoise: {len(val)} validation images ({mp:.2f} MP)", flush=True)
    lines = [
        f"Validation: {len(val)} held-out images of the `denoise-gunet` recipe's split ({mp:.2f} MP in all; "
        "centre crops of at most 512x512), seeded Gaussian noise, clipped and rounded to 8 bits. Rows "
        f"`camera`: the same crops through a simulated high-ISO phone ({camera}: noise in linear light, a "
        f"Bayer mosaic, demosaic, colour matrix, sRGB, JPEG quality {CAMERA_QUALITY}), seeded per image with "
        "seeds training never draws.",
        "",
        "| sigma | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|",
    ]
    for sigma in SIGMAS:
        methods: list[tuple[str, Denoiser]] = [("noisy input", lambda x, s: x)]
        methods += [
            ("msimg (given sigma)", msimg_denoiser(False)),
            ("msimg (--sigma auto)", msimg_denoiser(True)),
            ("msimg --model denoise-gunet (--sigma auto)", msimg_denoiser(True, "denoise-gunet")),
            ("msimg --model denoise-real (given sigma)", msimg_denoiser(False, "denoise-real")),
        ]
        if peers:
            nlm, h = nlm_for(tune, sigma)
            methods += [("colour BM3D (true sigma)", bm3d_denoiser), (f"OpenCV NLM (h={h:.1f})", nlm)]
        for name, fn in methods:
            r = score(name, fn, val, sigma)
            speed = "" if name == "noisy input" else f"{r['mps']:.3f}"
            lines.append(f"| {sigma} | {name} | {r['psnr']:.2f} | {r['ssim']:.4f} | {speed} |")
    lines += camera_table(val, tune, peers)
    return "\n".join(lines)


DEMO_SIGMA = 25


def add_noise(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seeded Gaussian noise (sigma 25 of 255), clipped to 8 bits as a real file is."""
    return (
        np.clip(px.astype(np.float32) + rng.normal(0, DEMO_SIGMA, px.shape), 0, 255).round().astype(np.uint8)
    )


def demo(kit: DemoKit, out: Path) -> int:
    noisy_dir, clean_dir = out / "noisy", out / "denoised"
    inputs = kit.degrade(noisy_dir, add_noise)
    code = kit.run("denoise", noisy_dir, clean_dir, "--overwrite")
    if code == 0:
        print(f"PSNR against the clean samples (noise sigma {DEMO_SIGMA}, --sigma auto):")
        for noisy in inputs:
            ref = read_image(kit.samples / noisy.name).pixels
            before, after = (
                psnr(read_image(noisy).pixels, ref),
                psnr(read_image(clean_dir / noisy.name).pixels, ref),
            )
            print(f"  {noisy.name:<16} noisy {before:5.2f} dB -> denoised {after:5.2f} dB")
        print(f"inputs: {noisy_dir}\nresults: {clean_dir}")
    return code
