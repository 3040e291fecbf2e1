"""`make bench` for this task: its section of BENCHMARKS.md.

Super-resolve: the same held-out images, bicubic-downscaled (the `--degradation bicubic` models) and made
into web images (blur, bicubic down, noise, JPEG: the default `real` models); Y-channel PSNR/SSIM against
OpenCV's bicubic and Lanczos resizes; also on scikit-image's bundled photos, from outside the shared data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from msimg.io.read import read_image
from msimg.models.weights import load_manifest
from msimg.ops.metrics import psnr, rgb_to_y, ssim
from msimg.tasks.benchkit import DemoKit, held_out, session, to_uint8
from msimg.tasks.super_resolve.options import REAL_MODELS, SuperResolveOptions
from msimg.tasks.super_resolve.task import model_for


def sr_pairs(val: list[tuple[str, np.ndarray]], scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(8-bit low-resolution input, modcropped reference) pairs, made as the training pairs are."""
    import torch

    from msimg.tasks.super_resolve.training import SuperResolveObjective

    make = SuperResolveObjective(scale, multiple=1)
    pairs = []
    for _, im in val:
        lr, ref = make.pair(torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255)
        pairs.append((to_uint8(lr), to_uint8(ref)))
    return pairs


def upscale(lr: np.ndarray, scale: int, flag: int) -> np.ndarray:
    return cv2.resize(lr, (lr.shape[1] * scale, lr.shape[0] * scale), interpolation=flag)


def upscale_matlab(lr: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic with a = -0.5, the kernel of MATLAB's `imresize` that SR papers' bicubic rows use (OpenCV's
    has a = -0.75); torch renormalises the weights at the borders where MATLAB mirrors, and the scores
    crop those pixels anyway."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float()
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", antialias=True, align_corners=False)
    return up[0].permute(1, 2, 0).round().clamp(0, 255).numpy().astype(np.uint8)


OUTSIDE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "moon", "coins")


def outside_photos() -> list[tuple[str, np.ndarray]]:
    """Photos from outside the shared data, never trained on: scikit-image's bundled ones (the gray
    ones as three equal channels), for how the models do on photos unlike the training set's."""
    import skimage.data

    photos = []
    for name in OUTSIDE_PHOTOS:
        im = getattr(skimage.data, name)()
        photos.append((name, np.repeat(im[..., None], 3, axis=2) if im.ndim == 2 else im))
    return photos


Method = tuple[str, Callable[[np.ndarray], np.ndarray]]


def score_rows(
    pairs: list[tuple[np.ndarray, np.ndarray]], methods: list[Method], scale: int, speed: bool
) -> list[str]:
    """One table row per method: Y-PSNR/SSIM (border `scale`), gain over the first method, output MP/s."""
    lines, base = [], None
    for name, fn in methods:
        ps, ss, secs = [], [], 0.0
        for lr, ref in pairs:
            t0 = time.perf_counter()
            out = fn(lr)
            secs += time.perf_counter() - t0
            ps.append(psnr(rgb_to_y(out), rgb_to_y(ref), border=scale))
            ss.append(ssim(rgb_to_y(out), rgb_to_y(ref), border=scale))
        mp = sum(r.shape[0] * r.shape[1] for _, r in pairs) / 1e6
        p = float(np.mean(ps))
        base = p if base is None else base
        row = f"{p:.2f} | {np.mean(ss):.4f} | {p - base:+.2f}" + (f" | {mp / secs:.2f}" if speed else "")
        print(f"  x{scale} {name:<34} {row}", flush=True)
        lines.append(f"| x{scale} | {name} | {row} |")
    return lines


def sr_table(images: list[tuple[str, np.ndarray]], speed: bool) -> list[str]:
    """Rows per scale: Y-PSNR/SSIM (border `scale`) of the bicubic baselines and msimg on `images`."""
    lines = []
    for scale in (2, 3, 4):
        pairs = sr_pairs(images, scale)
        methods: list[Method] = [
            ("bicubic (OpenCV)", partial(upscale, scale=scale, flag=cv2.INTER_CUBIC)),
            ("bicubic (MATLAB kernel)", partial(upscale_matlab, scale=scale)),
            ("Lanczos (OpenCV)", partial(upscale, scale=scale, flag=cv2.INTER_LANCZOS4)),
        ]
        if f"sr-x{scale}" in load_manifest():
            plain = session("super-resolve", scale=scale, degradation="bicubic")
            tta = session("super-resolve", scale=scale, degradation="bicubic", tta=True)
            methods += [
                ("msimg --degradation bicubic", lambda lr, s=plain: s.restore(lr)[0]),  # type: ignore[misc]
                ("msimg --degradation bicubic --tta", lambda lr, s=tta: s.restore(lr)[0]),  # type: ignore[misc]
            ]
        lines += score_rows(pairs, methods, scale, speed)
    return lines


def web_pairs(images: list[tuple[str, np.ndarray]], scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(8-bit web image, modcropped reference) pairs: training's held-out web case, seeded per image."""
    import torch

    from msimg.tasks.super_resolve.training import SuperResolveObjective, web_case

    cut = SuperResolveObjective(scale, multiple=1)
    pairs = []
    for i, (_, im) in enumerate(images):
        ref = cut.cut(torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255)
        pairs.append((to_uint8(web_case(ref, scale, i)), to_uint8(ref)))
    return pairs


def web_table(images: list[tuple[str, np.ndarray]], speed: bool) -> list[str]:
    """Rows per scale on web images: bicubic, the bicubic-trained model, the default (real) model alone
    and averaged over the 8 flips and rotations."""
    lines = []
    for scale in (2, 4):
        pairs = web_pairs(images, scale)
        methods: list[Method] = [
            ("bicubic (OpenCV)", partial(upscale, scale=scale, flag=cv2.INTER_CUBIC)),
        ]
        runs = (
            ("msimg --degradation bicubic", "bicubic", False),
            ("msimg (default: real)", "real", False),
            ("msimg --tta (real)", "real", True),
        )
        for name, kind, tta in runs:
            if model_for(SuperResolveOptions(scale, degradation=kind)) in load_manifest():
                run = session("super-resolve", scale=scale, degradation=kind, tta=tta)
                methods.append((name, lambda lr, s=run: s.restore(lr)[0]))  # type: ignore[misc]
        lines += score_rows(pairs, methods, scale, speed)
    return lines


def bench(limit: int | None, peers: bool = True) -> str:
    """Its peers are quick: they run with or without `peers`."""
    from msimg.tasks.super_resolve.training import WEB_CASES

    val, _ = held_out(limit)
    outside = outside_photos()
    web_cases = "; ".join(
        f"x{s}: Gaussian sigma {c['sigma']}, noise sigma {c['noise']}/255, quality {c['quality']}"
        for s, c in sorted(WEB_CASES.items())
    )
    lines = [
        f"Validation: the same {len(val)} held-out images (centre crops of at most 512x512, modcropped), "
        "down-scaled by antialiased bicubic (MATLAB `imresize` kernel) and rounded to 8 bits. PSNR/SSIM on "
        "the Y channel (BT.601) with a border of `scale` pixels cropped; speed in output megapixels/s. Gains "
        "are over OpenCV's bicubic; SR papers' bicubic rows use MATLAB's kernel (a = -0.5), listed too.",
        "",
        "| scale | method | Y-PSNR (dB) | Y-SSIM | gain over bicubic (dB) | output MP/s |",
        "|---|---|---|---|---|---|",
        *sr_table(val, speed=True),
        "",
        f"Photos from outside the shared data, never trained on or tuned for: scikit-image's "
        f"{', '.join(OUTSIDE_PHOTOS)} ({len(outside)} whole images, the last three gray), made and scored "
        "the same way.",
        "",
        "| scale | method | Y-PSNR (dB) | Y-SSIM | gain over bicubic (dB) |",
        "|---|---|---|---|---|",
        *sr_table(outside, speed=False),
        "",
        f"Web images: the same held-out images blurred ({web_cases}), reduced by antialiased bicubic, given "
        "white noise, rounded to 8 bits and saved as JPEG (4:2:0); a seed per image that training never "
        "draws. Scored as above. The default runs "
        + " and ".join(f"`{name}` at x{scale}" for scale, name in REAL_MODELS.items())
        + ".",
        "",
        "| scale | method | Y-PSNR (dB) | Y-SSIM | gain over bicubic (dB) | output MP/s |",
        "|---|---|---|---|---|---|",
        *web_table(val, speed=True),
        "",
        "The same web images made from the photos from outside the shared data.",
        "",
        "| scale | method | Y-PSNR (dB) | Y-SSIM | gain over bicubic (dB) |",
        "|---|---|---|---|---|",
        *web_table(outside, speed=False),
    ]
    return "\n".join(lines)


DEMO_SCALE = 4


DEMO_QUALITY = 75


def shrink(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1/4-size copy (area averaging), as a web thumbnail is: colour ones through a JPEG of quality 75."""
    from msimg.io.read import decode_image
    from msimg.train.degrade import jpeg_file

    h, w = px.shape[0] // DEMO_SCALE, px.shape[1] // DEMO_SCALE
    small = cv2.resize(px[: h * DEMO_SCALE, : w * DEMO_SCALE], (w, h), interpolation=cv2.INTER_AREA)
    if small.ndim == 3 and small.shape[2] == 3:
        return decode_image(jpeg_file(np.ascontiguousarray(small), DEMO_QUALITY)).pixels
    return small.reshape(h, w, -1)


def demo(kit: DemoKit, out: Path) -> int:
    small_dir, large_dir = out / "small", out / "super-resolved"
    inputs = kit.degrade(small_dir, shrink)
    code = kit.run("super-resolve", small_dir, large_dir, "--scale", str(DEMO_SCALE), "--overwrite")
    if code == 0:
        print(f"PSNR against the original samples (x{DEMO_SCALE}), against a bicubic enlargement:")
        for small in inputs:
            ref, lr = read_image(kit.samples / small.name).pixels, read_image(small).pixels
            h, w = lr.shape[0] * DEMO_SCALE, lr.shape[1] * DEMO_SCALE
            bicubic = cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, -1)
            ours = read_image(large_dir / small.name).pixels
            print(
                f"  {small.name:<16} bicubic {psnr(bicubic, ref[:h, :w]):5.2f} dB -> msimg "
                f"{psnr(ours, ref[:h, :w]):5.2f} dB"
            )
        print(f"inputs: {small_dir}\nresults: {large_dir}")
    return code
