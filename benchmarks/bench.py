"""`make bench`: measured quality and speed, written to BENCHMARKS.md between markers.

Denoise: the held-out validation split of the shipped recipe (never trained on), centre crops of at most
512x512, 8-bit PNG-equivalent inputs with seeded Gaussian noise clipped to [0, 255]; PSNR/SSIM on RGB.
Peers run in the same process on the same inputs: colour BM3D (`bm3d` package, true sigma), OpenCV
fastNlMeansDenoisingColored (h tuned on training images), and the noisy input itself.

Super-resolve: the same held-out images, bicubic-downscaled; Y-channel PSNR/SSIM against OpenCV's bicubic
and Lanczos resizes; also on scikit-image's bundled photos, from outside the shared data.

Deblur: the same held-out images blurred by four fixed kernels plus noise of sigma 1/255; scikit-image's
Richardson-Lucy and Wiener get the true kernel and settings tuned on training images, and unsharp masking
one setting tuned over all kernels.

Dehaze: the same held-out images hazed by the scattering model at two densities over seeded depth
proxies; msimg net and dcp against CLAHE (OpenCV, on Lab lightness, clip limit tuned on training images).

Demosaic: the same held-out images captured as noise-free 10-bit RAW (sRGB undone to linear light, a
daylight-like sensor response divided out, the CFA sampled, event pixels 0), as HybridEVS Quad-Bayer and
as Bayer RGGB; every method gets the white-balanced linear mosaic, its RGB is sRGB-encoded and scored on
8-bit RGB. Bayer peers: bilinear, Malvar 2004 and Menon 2007 (`colour-demosaicing`) and OpenCV's
edge-aware demosaic.

Segment: the 50 BSDS500 training images held out from the boundary network's training; covering, PRI,
VoI (bits) and boundary F at the BSDS tolerance against all annotators. msimg's threshold on the region
hierarchy and the superpixels' parameters are each picked by mean covering (on the held-out set for the
threshold, which is the "best fixed scale" ODS convention of the BSDS benchmark; on training images for
the superpixel parameters).
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from msimg.metrics import psnr, rgb_to_y, ssim
from msimg.models.weights import load_manifest, weights_dir
from msimg.train.data import load_rgb, split
from msimg.train.loop import data_path
from msimg.train.recipes import RECIPES

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[1]
SIGMAS = (15, 25, 50)
Denoiser = Callable[[np.ndarray, float], np.ndarray]


def centre_crop(im: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = min(size, im.shape[0]), min(size, im.shape[1])
    y, x = (im.shape[0] - h) // 2, (im.shape[1] - w) // 2
    return np.ascontiguousarray(im[y : y + h, x : x + w])


def noisy_copy(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(clean + rng.normal(0, sigma, clean.shape)), 0, 255).astype(np.uint8)


def denoise_sets(limit: int | None) -> tuple[list[tuple[str, np.ndarray]], list[np.ndarray]]:
    recipe = RECIPES["denoise-gunet"]
    data = split([data_path(d) for d in recipe.data], recipe.val_fraction)
    val = [(p.name, centre_crop(load_rgb(p))) for p in data.validation][:limit]
    tune = [centre_crop(load_rgb(p), 256) for p in data.train[::40]][:4]
    return val, tune


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


def msimg_denoiser(auto: bool) -> Denoiser:
    import msimg

    sessions: dict[float, object] = {}

    def run(x: np.ndarray, sigma: float) -> np.ndarray:
        key = -1.0 if auto else sigma
        if key not in sessions:
            sessions[key] = msimg.session("denoise", sigma=None if auto else sigma)
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


def bench_denoise(limit: int | None, peers: bool) -> str:
    val, tune = denoise_sets(limit)
    mp = sum(c.shape[0] * c.shape[1] for _, c in val) / 1e6
    print(f"denoise: {len(val)} validation images ({mp:.2f} MP)", flush=True)
    lines = [
        f"Validation: {len(val)} held-out images of the `denoise-gunet` recipe's split ({mp:.2f} MP in all; "
        "centre crops of at most 512x512), seeded Gaussian noise, clipped and rounded to 8 bits.",
        "",
        "| sigma | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|",
    ]
    for sigma in SIGMAS:
        methods: list[tuple[str, Denoiser]] = [("noisy input", lambda x, s: x)]
        methods += [
            ("msimg (given sigma)", msimg_denoiser(False)),
            ("msimg (--sigma auto)", msimg_denoiser(True)),
        ]
        if peers:
            nlm, h = nlm_for(tune, sigma)
            methods += [("colour BM3D (true sigma)", bm3d_denoiser), (f"OpenCV NLM (h={h:.1f})", nlm)]
        for name, fn in methods:
            r = score(name, fn, val, sigma)
            speed = "" if name == "noisy input" else f"{r['mps']:.3f}"
            lines.append(f"| {sigma} | {name} | {r['psnr']:.2f} | {r['ssim']:.4f} | {speed} |")
    return "\n".join(lines)


def _to_uint8(t: object) -> np.ndarray:
    return (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # type: ignore[index]


def sr_pairs(val: list[tuple[str, np.ndarray]], scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(8-bit low-resolution input, modcropped reference) pairs, made as the training pairs are."""
    import torch

    from msimg.train.objectives import SuperResolveObjective

    make = SuperResolveObjective(scale, multiple=1)
    pairs = []
    for _, im in val:
        lr, ref = make.pair(torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255)
        pairs.append((_to_uint8(lr), _to_uint8(ref)))
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


def sr_table(images: list[tuple[str, np.ndarray]], speed: bool) -> list[str]:
    """Rows per scale: Y-PSNR/SSIM (border `scale`) of the bicubic baselines and msimg on `images`."""
    import msimg

    lines = []
    for scale in (2, 3, 4):
        pairs = sr_pairs(images, scale)
        methods: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
            ("bicubic (OpenCV)", partial(upscale, scale=scale, flag=cv2.INTER_CUBIC)),
            ("bicubic (MATLAB kernel)", partial(upscale_matlab, scale=scale)),
            ("Lanczos (OpenCV)", partial(upscale, scale=scale, flag=cv2.INTER_LANCZOS4)),
        ]
        if f"sr-x{scale}" in load_manifest():
            plain = msimg.session("super-resolve", scale=scale)
            tta = msimg.session("super-resolve", scale=scale, tta=True)
            methods += [
                ("msimg", lambda lr, s=plain: s.restore(lr)[0]),  # type: ignore[misc]
                ("msimg --tta", lambda lr, s=tta: s.restore(lr)[0]),  # type: ignore[misc]
            ]
        base = None
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
            print(f"  x{scale} {name:<24} {row}", flush=True)
            lines.append(f"| x{scale} | {name} | {row} |")
    return lines


def bench_super_resolve(limit: int | None) -> str:
    val, _ = denoise_sets(limit)
    outside = outside_photos()
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
    ]
    return "\n".join(lines)


ImageFn = Callable[[np.ndarray], np.ndarray]


def blurred_copy(clean: np.ndarray, spec: str | torch.Tensor, seed: int) -> np.ndarray:
    """`clean` blurred by kernel `spec` (or the kernel itself; reflecting borders, as in training), noise
    1/255, 8 bits."""
    import torch

    from msimg.kernels import parse
    from msimg.train.degrade import blur

    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float()
    out = blur(x, [parse(spec) if isinstance(spec, str) else spec])[0].permute(1, 2, 0).numpy()
    out = out + np.random.default_rng(seed).normal(0, 1.0, out.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def hazed_u8(clean: np.ndarray, beta: float, seed: int) -> np.ndarray:
    """8-bit `clean` (H, W, 1|3) hazed as the dehaze validation is (`objectives.hazed_copy`); a gray
    image is hazed as RGB with its grey air light and keeps its one channel."""
    import torch

    from msimg.train.objectives import hazed_copy

    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    return _to_uint8(hazed_copy(x.expand(-1, 3, -1, -1), beta, seed))[..., : clean.shape[2]]


def _skimage_per_channel(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, margin: int) -> np.ndarray:
    """Run a 2-D scikit-image deconvolution on each channel of the reflect-padded image, so the
    peers are not penalised for their FFT's periodic borders (msimg handles borders itself)."""
    f = np.pad(x.astype(np.float64) / 255, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")
    out = np.stack([fn(f[..., c]) for c in range(f.shape[2])], axis=2)[margin:-margin, margin:-margin]
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def richardson_lucy(spec: str, iterations: int) -> ImageFn:
    from skimage.restoration import richardson_lucy as rl

    from msimg.kernels import parse

    psf = parse(spec).double().numpy()
    return lambda x: _skimage_per_channel(
        lambda c: rl(c, psf, num_iter=iterations, clip=True), x, 2 * psf.shape[0]
    )


def wiener_peer(spec: str, balance: float) -> ImageFn:
    from skimage.restoration import wiener

    from msimg.kernels import parse

    psf = parse(spec).double().numpy()
    return lambda x: _skimage_per_channel(lambda c: wiener(c, psf, balance, clip=True), x, 2 * psf.shape[0])


def unsharp(radius: float, amount: float) -> ImageFn:
    """Unsharp masking, x + amount (x - Gaussian(x, sigma=radius)), the classic blind sharpener."""

    def run(x: np.ndarray) -> np.ndarray:
        f = x.astype(np.float32)
        out = f + amount * (f - cv2.GaussianBlur(f, (0, 0), radius, borderType=cv2.BORDER_REFLECT))
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    return run


def _best(pairs: list[tuple[np.ndarray, np.ndarray]], candidates: dict[str, ImageFn]) -> str:
    """The candidate with the best mean PSNR on `pairs` (training images: tuning never sees validation)."""
    return max(candidates, key=lambda k: np.mean([psnr(candidates[k](b), c) for b, c in pairs]))


def measure(fn: ImageFn, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, float]:
    """Mean PSNR, mean SSIM (RGB, whole image, borders included) and megapixels/s of `fn` on pairs."""
    ps, ss, secs = [], [], 0.0
    for degraded, clean in pairs:
        t0 = time.perf_counter()
        out = fn(degraded)
        secs += time.perf_counter() - t0
        ps.append(psnr(out, clean))
        ss.append(ssim(out, clean))
    mp = sum(c.shape[0] * c.shape[1] for _, c in pairs) / 1e6
    return float(np.mean(ps)), float(np.mean(ss)), mp / secs if secs > 0 else float("inf")


def bench_shake(val: list[tuple[str, np.ndarray]]) -> list[str]:
    """Curved camera shake, outside the families the kernel is sought in: one seeded path per image."""
    import torch

    import msimg
    from msimg.kernels import shake

    found, network = msimg.session("deblur"), msimg.session("deblur", kernel="network")
    scores: dict[str, list[float]] = {"blurred input": [], "msimg blind": [], "msimg --kernel network": []}
    scores["msimg --kernel (true, as a PSF image)"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (_, clean) in enumerate(val):
            k = shake(torch.Generator().manual_seed(i))
            psf = Path(tmp) / f"{i}.png"
            cv2.imwrite(str(psf), np.round(k.numpy() / float(k.max()) * 65535).astype(np.uint16))
            y = blurred_copy(clean, k, i)
            true = msimg.session("deblur", kernel=str(psf))
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


def bench_deblur(limit: int | None, peers: bool) -> str:
    import msimg
    from msimg.train.objectives import VALIDATION_KERNELS

    val, tune = denoise_sets(limit)
    found, network = msimg.session("deblur"), msimg.session("deblur", kernel="network")
    pairs = {
        spec: [(blurred_copy(c, spec, 1000 * i + j), c) for i, (_, c) in enumerate(val)]
        for j, spec in enumerate(VALIDATION_KERNELS)
    }
    tune_pairs = {spec: [(blurred_copy(c, spec, 7), c) for c in tune] for spec in VALIDATION_KERNELS}
    if peers:
        grid = {f"radius {r}, amount {a}": unsharp(r, a) for r in (1, 2, 4) for a in (0.5, 1.0, 2.0)}
        sharpen = _best([p for ps in tune_pairs.values() for p in ps], grid)
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
            ("msimg --kernel (true)", lambda x, s=msimg.session("deblur", kernel=spec): s.restore(x)[0]),
        ]
        if peers:
            rls = {f"{n} iterations": richardson_lucy(spec, n) for n in (10, 20, 40, 80)}
            wieners = {f"balance {b}": wiener_peer(spec, b) for b in (0.003, 0.01, 0.03, 0.1)}
            rl, wn = _best(tune_pairs[spec], rls), _best(tune_pairs[spec], wieners)
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


def clahe(clip: float) -> ImageFn:
    def run(x: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(x, cv2.COLOR_RGB2LAB)
        lab[..., 0] = cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(lab[..., 0])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)

    return run


def bench_dehaze(limit: int | None) -> str:

    import msimg
    from msimg.train.objectives import VALIDATION_HAZE

    val, tune = denoise_sets(limit)
    betas = VALIDATION_HAZE.values()
    tune_pairs = [(hazed_u8(c, beta, 7 + k), c) for k, c in enumerate(tune) for beta in betas]
    clahes = {f"clip {c}": clahe(c) for c in (1.0, 2.0, 4.0, 8.0)}
    clip = _best(tune_pairs, clahes)
    methods: list[tuple[str, ImageFn]] = [("hazy input", lambda x: x)]
    shipped = "dehaze-gunet" in load_manifest()
    if shipped:
        net = msimg.session("dehaze")
        methods.append(("msimg net", lambda x: net.restore(x)[0]))
    dcp = msimg.session("dehaze", method="dcp")
    methods += [("msimg dcp", lambda x: dcp.restore(x)[0]), (f"CLAHE ({clip})", clahes[clip])]
    lines = [
        f"Validation: the same {len(val)} held-out images (centre crops of at most 512x512), hazed as "
        "I = J t + A (1 - t), t = exp(-beta d) over a seeded depth proxy d in [0, 1] (ramps and smooth "
        "fields), A = 0.9 grey, noise 1/255, 8 bits. PSNR/SSIM on RGB."
        + ("" if shipped else " The network is not shipped yet, so it has no row."),
        "",
        "| haze | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|",
    ]
    for j, (density, beta) in enumerate(VALIDATION_HAZE.items()):
        pairs = [(hazed_u8(c, beta, 1000 * i + j), c) for i, (_, c) in enumerate(val)]
        for name, fn in methods:
            p, q, mps = measure(fn, pairs)
            speed = "" if name == "hazy input" else f"{mps:.3f}"
            print(f"  {density:<6} {name:<20} PSNR {p:.2f}  SSIM {q:.4f}  {speed} MP/s", flush=True)
            lines.append(f"| {density} (beta {beta}) | {name} | {p:.2f} | {q:.4f} | {speed} |")
    return "\n".join(lines)


def raw_frame(
    clean: np.ndarray,
    pattern: str,
    space: str = "linear",
    holes: np.ndarray | None = None,
    noise: float = 0.0,
    stuck: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """An (H, W, 3) uint8 photo as a 10-bit frame: linear (sRGB undone, the daylight-like sensor gains of
    the validation divided out) or display-referred (the sRGB values sampled as they are, as the MIPI
    HybridEVS files and the demosaic benchmarks make mosaics); `holes` (H, W) replaces the pattern's own,
    `noise` is the Gaussian std in full-scale units, `stuck` the share of unmarked pixels reading 0 or
    1023."""
    import torch

    from msimg.colour import srgb_decode
    from msimg.train.degrade import raw_capture, stuck_pixels
    from msimg.train.objectives import VALIDATION_GAINS

    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    scene, gains = (
        (x, torch.ones(1, 3)) if space == "srgb" else (srgb_decode(x), torch.tensor([VALIDATION_GAINS]))
    )
    gen = torch.Generator().manual_seed(seed)
    zero = torch.zeros(1)
    raw, _ = raw_capture(scene, [pattern], gains, zero, torch.tensor([noise]), 10, gen, [holes])
    if stuck:
        raw = stuck_pixels(raw, torch.tensor([stuck]), gen)
    return np.round(raw[0, 0].numpy() * 1023).astype(np.uint16)


def menon_peer(pattern: str, space: str, holes: np.ndarray | None = None) -> ImageFn:
    """Menon 2007 (`colour-demosaicing`) on the levelled mosaic, white-balanced when linear: for
    Quad-Bayer the holes are first filled from their same-colour neighbours (the quad-mates) and the tile
    remosaiced to Bayer, the classical route for HybridEVS frames; the result sRGB-encoded to 8 bits."""
    import colour_demosaicing as cd
    import torch

    from msimg import cfa
    from msimg.colour import srgb_encode
    from msimg.models.classic_demosaic import fill_holes, swap_quads
    from msimg.train.objectives import VALIDATION_GAINS

    quad = pattern.startswith("quad")
    bayer = "RGGB" if quad else pattern.split("-")[1].upper()
    gains = np.asarray(VALIDATION_GAINS if space == "linear" else (1.0, 1.0, 1.0))[cfa.layout(pattern)]

    def run(raw: np.ndarray) -> np.ndarray:
        h, w = raw.shape
        levelled = raw / 1023.0 * cfa.repeat(gains, h, w)
        sites = cfa.sites(pattern, h, w, holes)[None].double()
        x = fill_holes(torch.from_numpy(levelled)[None, None], sites[:, :3], sites[:, 3:])
        x = swap_quads(x) if quad else x
        rgb = torch.from_numpy(cd.demosaicing_CFA_Bayer_Menon2007(x[0, 0].numpy(), bayer)).permute(2, 0, 1)[
            None
        ]
        rgb = (swap_quads(rgb) if quad else rgb).clamp(0, 1)
        rgb = srgb_encode(rgb) if space == "linear" else rgb
        return np.round(rgb[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)

    return run


def bayer_peer(method: str) -> ImageFn:
    """A Bayer RGGB demosaic of the white-balanced linear mosaic, sRGB-encoded to 8 bits."""
    import torch

    from msimg import cfa
    from msimg.colour import srgb_encode
    from msimg.train.objectives import VALIDATION_GAINS

    def run(raw: np.ndarray) -> np.ndarray:
        gain = np.asarray(VALIDATION_GAINS)[cfa.layout("bayer-rggb")]
        h, w = raw.shape
        linear = raw / 1023.0 * cfa.repeat(gain, h, w)
        if method == "opencv":
            u16 = np.round(np.clip(linear, 0, 1) * 65535).astype(np.uint16)
            rgb = cv2.cvtColor(u16, cv2.COLOR_BayerRGGB2RGB_EA).astype(np.float64) / 65535
        else:
            import colour_demosaicing as cd

            fn = {
                "bilinear": cd.demosaicing_CFA_Bayer_bilinear,
                "malvar": cd.demosaicing_CFA_Bayer_Malvar2004,
            }[method]
            rgb = fn(linear, "RGGB")
        encoded = srgb_encode(torch.from_numpy(np.ascontiguousarray(rgb))).numpy()
        return np.round(encoded * 255).astype(np.uint8)

    return run


def bench_layouts() -> dict[str, np.ndarray | None]:
    """Hole layouts of the benchmark: name -> one period of the mask (None: the pattern's own). The
    HybridEVS default, two green sites per 4x4 tile, and 1 site in 8 of period 8."""
    from msimg.train.objectives import period8_tile

    green = np.zeros((4, 4), dtype=bool)
    green[0, 3] = green[2, 1] = True
    return {
        "HybridEVS (1,1),(3,3)": None,
        "green (0,3),(2,1)": green,
        "period 8, 1 in 8": period8_tile(),
    }


def tiled(tile: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """One period of a hole layout repeated over an image of `shape` (None stays None)."""
    from msimg import cfa

    return None if tile is None else cfa.repeat(tile, *shape[:2])


NOISY = 0.01  # Gaussian std in full-scale units (2.6 levels of 8 bits), for the noisy rows


def bench_demosaic(limit: int | None, peers: bool) -> str:
    import msimg
    from msimg.train.objectives import VALIDATION_GAINS

    val, _ = denoise_sets(limit)
    val = [(name, c[: c.shape[0] // 8 * 8, : c.shape[1] // 8 * 8]) for name, c in val]
    nets = [m for m in ("net",) if "demosaic-swin" in load_manifest()]
    masks = tempfile.TemporaryDirectory(prefix="msimg-bench-")
    folder = Path(masks.name)
    lines = [
        f"Validation: the same {len(val)} held-out images (centre crops of at most 512x512) as 10-bit "
        "frames, PSNR/SSIM on 8-bit sRGB, whole image. Linear: sRGB undone to linear light, sensor gains "
        f"{VALIDATION_GAINS} divided out, every method given the white-balanced mosaic and its result "
        "sRGB-encoded. Display-referred (`--input-space srgb`): the sRGB photo itself sampled by the CFA, as "
        "the MIPI HybridEVS files and the demosaic benchmarks make their mosaics. Noisy: Gaussian noise of "
        f"std {NOISY} of full scale; stuck: 0.1 % of pixels reading 0 or full scale, not in the mask. Other "
        "hole layouts reach msimg by `--mask` (one period, `--mask-mode replace`); Menon 2007 is "
        "`colour-demosaicing`'s, after filling the holes from their same-colour neighbours and remosaicing "
        "Quad-Bayer to Bayer.",
        "",
        "| space | mosaic | holes | noise | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    layouts = bench_layouts()
    cases = [
        ("linear", "bayer-rggb", "none", 0.0, 0.0),
        ("linear", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", 0.0, 0.0),
        ("linear", "quad-bayer", "period 8, 1 in 8", 0.0, 0.0),
        ("srgb", "bayer-rggb", "none", 0.0, 0.0),
        ("srgb", "bayer-rggb", "none", NOISY, 0.0),
        ("srgb", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", 0.0, 0.0),
        ("srgb", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", NOISY, 0.0),
        ("srgb", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", 0.0, 0.001),
        ("srgb", "quad-bayer", "green (0,3),(2,1)", 0.0, 0.0),
        ("srgb", "quad-bayer", "period 8, 1 in 8", 0.0, 0.0),
        ("srgb", "quad-bayer", "period 8, 1 in 8", NOISY, 0.0),
    ]
    for k, (space, pattern, holes_name, noise, stuck) in enumerate(cases):
        tile = layouts.get(holes_name)
        options: dict = {"pattern": pattern, "bit_depth": 10, "output_depth": 8, "input_space": space}
        options["wb"] = VALIDATION_GAINS if space == "linear" else None
        if tile is not None:
            options["mask"] = folder / f"mask{k}.npy"
            np.save(options["mask"], tile)

        pairs = [
            (raw_frame(c, pattern, space, tiled(tile, c.shape), noise, stuck, i), c)
            for i, (_, c) in enumerate(val)
        ]
        runs: list[tuple[str, ImageFn]] = []
        for method in (*nets, "classic"):
            session = msimg.session("demosaic", method=method, **options)
            runs.append((f"msimg {method}", lambda x, s=session: s.restore(x[..., None])[0]))
        if peers:

            def peer(
                x: np.ndarray, space: str = space, pattern: str = pattern, tile: Any = tile
            ) -> np.ndarray:
                return menon_peer(pattern, space, tiled(tile, x.shape))(x)

            runs.append(
                ("Menon 2007" if pattern.startswith("bayer") else "fill + remosaic + Menon 2007", peer)
            )
            if space == "linear" and pattern.startswith("bayer"):
                runs += [("bilinear", bayer_peer("bilinear")), ("Malvar 2004", bayer_peer("malvar"))]
                runs.append(("OpenCV edge-aware", bayer_peer("opencv")))
        noise_text = "stuck 0.1 %" if stuck else f"{noise:g}" if noise else "none"
        for name, fn in runs:
            p, q, mps = measure(fn, pairs)
            label = f"{space:<6} {pattern:<15} {holes_name:<22} {noise_text:<11} {name:<28}"
            print(f"  {label} PSNR {p:.2f}  SSIM {q:.4f}  {mps:.3f} MP/s", flush=True)
            row = (space, pattern, holes_name, noise_text, name, f"{p:.2f}", f"{q:.4f}", f"{mps:.3f}")
            lines.append("| " + " | ".join(row) + " |")
    masks.cleanup()
    return "\n".join(lines)


def segment_sets(limit: int | None) -> tuple[list[tuple[np.ndarray, list[np.ndarray]]], list]:
    """(held-out (image, annotations) pairs, a few training pairs for tuning) of the segment recipe."""
    from msimg.segmentation.bsds import load_ground_truth

    recipe = RECIPES["segment-boundary"]
    data = split([data_path(d) for d in recipe.data], recipe.val_fraction)

    def pair(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
        return load_rgb(path), load_ground_truth(path.parent.parent / "groundTruth" / f"{path.stem}.mat")

    return [pair(p) for p in data.validation][:limit], [pair(p) for p in data.train[::15]]


def bench_segment(limit: int | None) -> str:
    import msimg
    from msimg.segmentation.bsds import boundaries_of
    from msimg.segmentation.measures import (
        boundary_counts,
        boundary_pr_curve,
        ods_ois,
        precision_recall_f,
        segmentation_scores,
    )
    from msimg.segmentation.regions import build_hierarchy, cut, initial_regions
    from msimg.tasks.segment import SUPERPIXEL_PARAMS

    val, tune = segment_sets(limit)
    lines = [
        f"Validation: {len(val)} BSDS500 training images held out from the boundary network (481x321, "
        "about 5 annotators each). Region measures against every annotator, averaged; boundary F at the "
        "BSDS distance tolerance (0.0075 of the diagonal), pixels matched within it (an approximation of "
        "the benchmark's one-to-one matching that can only count more matches).",
        "",
        "| method | setting | covering | PRI | VoI (bits) | boundary F | images/s |",
        "|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []

    def mean_scores(labelled: list[np.ndarray]) -> dict[str, float]:
        rows = [segmentation_scores(lab, gts) for lab, (_, gts) in zip(labelled, val, strict=True)]
        out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        counts = [
            boundary_counts(boundaries_of(lab), [boundaries_of(g) for g in gts])
            for lab, (_, gts) in zip(labelled, val, strict=True)
        ]
        out["boundary_f"] = precision_recall_f(sum(counts[1:], counts[0]))[2]
        return out

    def row(name: str, setting: str, scores: dict[str, float], rate: float) -> None:
        print(
            f"  {name:<14} {setting:<28} covering {scores['covering']:.3f} PRI {scores['pri']:.3f} "
            f"VoI {scores['voi']:.3f} F {scores['boundary_f']:.3f} {rate:.2f} img/s",
            flush=True,
        )
        lines.append(
            f"| {name} | {setting} | {scores['covering']:.3f} | {scores['pri']:.3f} | {scores['voi']:.3f} "
            f"| {scores['boundary_f']:.3f} | {rate:.2f} |"
        )

    if "segment-boundary" in load_manifest():
        net = msimg.session("segment", kind="boundaries")
        t0 = time.perf_counter()
        maps = [net.restore(im)[0][..., 0].astype(np.float32) / 255 for im, _ in val]
        hierarchies = [build_hierarchy(initial_regions(b), b) for b in maps]
        rate = len(val) / (time.perf_counter() - t0)
        thresholds = [round(t, 2) for t in np.linspace(0.05, 0.9, 18)]
        by_threshold = {t: mean_scores([cut(h, threshold=t) for h in hierarchies]) for t in thresholds}
        best = max(thresholds, key=lambda t: by_threshold[t]["covering"])
        row("msimg net", f"--threshold {best}", by_threshold[best], rate)
        curves = [
            boundary_pr_curve(b, [boundaries_of(g) for g in gts], thresholds)
            for b, (_, gts) in zip(maps, val, strict=True)
        ]
        ods = ods_ois(curves, thresholds)
        notes.append(
            f"msimg's soft boundary map: ODS F {ods['ods_f']:.3f} (threshold {ods['ods_threshold']:.2f}), "
            f"OIS F {ods['ois_f']:.3f}. For reference, gPb-owt-ucm reports covering 0.59 and ODS F 0.73 on "
            "the BSDS500 test set (Arbelaez et al., TPAMI 2011), with one-to-one matching."
        )
    grids = {
        "slic": [{"segments": n, "compactness": c} for n in (10, 20, 40, 80, 160) for c in (5.0, 10.0, 20.0)],
        "felzenszwalb": [
            {"segments": 0, "scale": s, "sigma": 0.8, "min_size": m}
            for s in (300, 800, 1500, 3000)
            for m in (50, 200, 500)
        ],
    }
    from msimg.segmentation.regions import superpixels

    for method, grid in grids.items():

        def run(im: np.ndarray, p: dict, method: str = method) -> np.ndarray:
            params = {k: v for k, v in p.items() if k != "segments"}
            return superpixels(im, method, p["segments"] or 1, **params)

        best = max(
            grid,
            key=lambda p: np.mean([segmentation_scores(run(im, p), gts)["covering"] for im, gts in tune]),
        )
        t0 = time.perf_counter()
        labelled = [run(im, best) for im, _ in val]
        rate = len(val) / (time.perf_counter() - t0)
        setting = ", ".join(f"{k} {v:g}" for k, v in best.items() if k != "segments" or method == "slic")
        row(method, setting, mean_scores(labelled), rate)
    notes.append(
        f"Shipped superpixel defaults: {SUPERPIXEL_PARAMS} (the felzenszwalb setting picked above; slic "
        "keeps 200 segments by default, an over-segmentation, as superpixels are usually used)."
    )
    return "\n".join([*lines, "", *notes])


def bench_engine() -> str:
    """Peak RSS for one 8000x8000 RGB image at --tile 256, and `msimg --help` start-up time."""
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.png"
        yy, xx = np.mgrid[0:8000, 0:8000].astype(np.float32)
        img = (127 + 60 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 53.0)[..., None] * np.ones(3)).astype(
            np.uint8
        )
        img = np.clip(img.astype(np.int16) + np.random.default_rng(0).integers(-20, 20, img.shape), 0, 255)
        cv2.imwrite(str(big), img.astype(np.uint8))
        del img, yy, xx
        cmd = [
            sys.executable,
            "-c",
            # VmHWM is this process's own peak; getrusage's ru_maxrss would include the parent's RSS
            # at fork time (Linux keeps it across exec), here the memory that made the test image
            "import re, sys; from msimg.cli.app import main; code = main(sys.argv[1:]);"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
            "print('maxrss_kb', hwm, file=sys.stderr);"
            "sys.exit(code)",
            "denoise",
            str(big),
            "-o",
            str(Path(tmp) / "out.png"),
            "--tile",
            "256",
            "--sigma",
            "10",
        ]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if res.returncode != 0:
            raise SystemExit(f"engine benchmark failed: {res.stderr}")
        peak = int(re.search(r"maxrss_kb (\d+)", res.stderr).group(1)) / 2**20  # type: ignore[union-attr]
    starts = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "msimg", "--help"], capture_output=True, check=True)
        starts.append(time.perf_counter() - t0)
    image_gb = 8000 * 8000 * 3 / 2**30
    return "\n".join(
        [
            "| measurement | value |",
            "|---|---|",
            f"| peak RSS, one 8000x8000 RGB PNG, `denoise --tile 256` | {peak:.2f} GiB "
            f"(the uint8 image is {image_gb:.2f} GiB, one float32 copy {4 * image_gb:.2f} GiB) |",
            f"| wall time for that image (start, decode, denoise, encode) | {seconds:.1f} s "
            f"({64 / seconds:.2f} MP/s) |",
            f"| `msimg --help` start-up, best of 5 | {min(starts) * 1000:.0f} ms |",
        ]
    )


def machine() -> str:
    import torch

    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else cpu
    return (
        f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )


def write_section(path: Path, name: str, body: str) -> None:
    text = path.read_text() if path.exists() else "# msimg benchmarks\n"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\nMachine: {machine()}. Command: `make bench`.\n\n{body}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{block}\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only",
        choices=["denoise", "super-resolve", "deblur", "dehaze", "demosaic", "segment", "engine"],
        help="run one benchmark",
    )
    parser.add_argument("--limit", type=int, help="use only the first N validation images (quick check)")
    parser.add_argument("--no-peers", action="store_true", help="skip the slow peers (BM3D, NLM, RL...)")
    parser.add_argument(
        "--out", type=Path, default=Path("BENCHMARKS.md"), help="the file whose sections are rewritten"
    )
    args = parser.parse_args()
    if not (weights_dir() / "manifest.json").exists():
        raise SystemExit("no shipped weights: run `make weights` first")
    if args.only in (None, "engine"):
        write_section(args.out, "engine", bench_engine())
    if args.only in (None, "denoise"):
        write_section(args.out, "denoise", bench_denoise(args.limit, not args.no_peers))
    if args.only in (None, "super-resolve"):
        write_section(args.out, "super-resolve", bench_super_resolve(args.limit))
    if args.only in (None, "deblur") and "deblur-gunet" in load_manifest():
        write_section(args.out, "deblur", bench_deblur(args.limit, not args.no_peers))
    if args.only in (None, "dehaze"):
        write_section(args.out, "dehaze", bench_dehaze(args.limit))
    if args.only in (None, "demosaic"):
        write_section(args.out, "demosaic", bench_demosaic(args.limit, not args.no_peers))
    if args.only in (None, "segment"):
        write_section(args.out, "segment", bench_segment(args.limit))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
