"""`make bench` for this task: its section of BENCHMARKS.md.

Dejpeg: the held-out images of the photo tasks' split (never trained on; centre crops of at most 512x512)
saved by Pillow (libjpeg) at quality 10, 20, 30 and 50 with 4:2:0 chroma, and decoded as msimg reads
them. PSNR and SSIM on RGB, PSNR-B (Yim & Bovik, IEEE TIP 2011: PSNR with a penalty for the excess of
differences across the 8x8 block edges over those within blocks) on the luma. msimg is run as a user
gets it from a JPEG file (the quality read from its tables) and blind (a PNG of the decoded JPEG). The
classical peers get a setting tuned per quality on training images: OpenCV's non-local means and, with
peers, colour BM3D, the denoiser used as a deblocking step by Dar et al. (2016).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from msimg.io.image import ImageMeta
from msimg.io.read import decode_image, read_image
from msimg.ops.metrics import psnr, rgb_to_y, ssim
from msimg.tasks.benchkit import DemoKit, held_out, session
from msimg.tasks.dejpeg.quality import estimate_quality
from msimg.train.degrade import jpeg_file

QUALITIES = (10, 20, 30, 50)
BLOCK = 8

Method = Callable[[np.ndarray, bytes], np.ndarray]  # (decoded JPEG, the file) -> restored


def psnr_b(out: np.ndarray, ref: np.ndarray) -> float:
    """PSNR-B (Yim & Bovik 2011) of an 8-bit RGB `out` against `ref`, on BT.601 luma: the mean squared
    error plus the blocking effect factor of `out`, eta * (D_B - D_Bc), where D_B is the mean squared
    difference of neighbouring pixels across 8x8 block edges, D_Bc that of all other neighbours, and
    eta = log2(8) / log2(min(H, W)) when D_B exceeds D_Bc (0 otherwise)."""
    y, r = rgb_to_y(out)[..., 0] * 255, rgb_to_y(ref)[..., 0] * 255
    dx, dy = np.diff(y, axis=1) ** 2, np.diff(y, axis=0) ** 2  # neighbour pairs (x, x+1) and (y, y+1)
    edge_x = (np.arange(dx.shape[1]) % BLOCK) == BLOCK - 1  # pairs straddling a vertical block edge
    edge_y = (np.arange(dy.shape[0]) % BLOCK) == BLOCK - 1
    across = np.concatenate([dx[:, edge_x].ravel(), dy[edge_y].ravel()])
    within = np.concatenate([dx[:, ~edge_x].ravel(), dy[~edge_y].ravel()])
    d_b, d_bc = float(across.mean()), float(within.mean())
    eta = np.log2(BLOCK) / np.log2(min(y.shape)) if d_b > d_bc else 0.0
    mse = float(np.mean((y - r) ** 2)) + eta * (d_b - d_bc)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def msimg_method(from_file: bool) -> Method:
    """msimg as a user runs it on the JPEG file (told the quality its tables say), or blind on a PNG."""
    opened = session("dejpeg")

    def run(jpeg: np.ndarray, data: bytes) -> np.ndarray:
        meta = ImageMeta("jpeg", extra={"jpeg_quality": estimate_quality(data)}) if from_file else None
        return opened.restore(jpeg, meta=meta)[0]

    return run


def nlm(h: float) -> Method:
    def run(jpeg: np.ndarray, data: bytes) -> np.ndarray:
        bgr = cv2.fastNlMeansDenoisingColored(cv2.cvtColor(jpeg, cv2.COLOR_RGB2BGR), None, h, h, 5, 21)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    return run


def bm3d(sigma: float) -> Method:
    def run(jpeg: np.ndarray, data: bytes) -> np.ndarray:
        import bm3d as package

        out = package.bm3d_rgb(jpeg.astype(np.float32) / 255.0, sigma / 255.0)
        return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)

    return run


def tuned(make: Callable[[float], Method], grid: tuple[float, ...], tune: list[np.ndarray], q: int) -> float:
    """The setting of `grid` with the best mean PSNR on training crops at quality `q`."""
    files = [jpeg_file(im, q) for im in tune]
    pairs = [(decode_image(f).pixels, f, im) for f, im in zip(files, tune, strict=True)]
    return max(grid, key=lambda v: np.mean([psnr(make(v)(j, f), im) for j, f, im in pairs]))


def bench(limit: int | None, peers: bool) -> str:
    val, tune = held_out(limit)
    mp = sum(c.shape[0] * c.shape[1] for _, c in val) / 1e6
    print(f"dejpeg: {len(val)} validation images ({mp:.2f} MP)", flush=True)
    lines = [
        f"Validation: {len(val)} held-out images ({mp:.2f} MP in all; centre crops of at most 512x512; 26 "
        "of them are BSDS500 photos, themselves JPEGs of quality 95), saved by Pillow at each quality with "
        "4:2:0 chroma. PSNR/SSIM on RGB, PSNR-B on the luma; gains against the decoded JPEG.",
        "",
        "| quality | method | PSNR (dB) | gain | SSIM | PSNR-B (dB) | MP/s |",
        "|---|---|---|---|---|---|---|",
    ]
    from_file, blind = msimg_method(True), msimg_method(False)
    for q in QUALITIES:
        files = [jpeg_file(clean, q) for _, clean in val]
        jpegs = [decode_image(f).pixels for f in files]
        h = tuned(nlm, (2.0, 4.0, 6.0, 9.0), tune, q)
        methods: list[tuple[str, Method]] = [
            ("decoded JPEG", lambda j, f: j),
            ("msimg (quality read from the file)", from_file),
            ("msimg blind (a PNG of the decoded JPEG)", blind),
            (f"OpenCV NLM (h={h:g}, tuned)", nlm(h)),
        ]
        if peers:
            sigma = tuned(bm3d, (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0), tune[:2], q)
            methods.append((f"colour BM3D (sigma={sigma:g}, tuned)", bm3d(sigma)))
        base = None
        for name, method in methods:
            ps, ss, pb, secs = [], [], [], 0.0
            for (_, clean), jpeg, data in zip(val, jpegs, files, strict=True):
                t0 = time.perf_counter()
                out = method(jpeg, data)
                secs += time.perf_counter() - t0
                ps.append(psnr(out, clean))
                ss.append(ssim(out, clean))
                pb.append(psnr_b(out, clean))
            p = float(np.mean(ps))
            base = p if base is None else base
            speed = "" if name == "decoded JPEG" else f"{mp / secs:.3f}"
            gain = "" if name == "decoded JPEG" else f"{p - base:+.2f}"
            row = f"| {q} | {name} | {p:.2f} | {gain} | {np.mean(ss):.4f} | {np.mean(pb):.2f} | {speed} |"
            print(" ", row, flush=True)
            lines.append(row)
    return "\n".join(lines)


DEMO_QUALITY = 20


def demo(kit: DemoKit, out: Path) -> int:
    """The samples saved as JPEG at quality 20, cleaned up (the quality read from each file)."""
    jpeg_dir, clean_dir = out / "jpeg", out / "dejpeged"
    jpeg_dir.mkdir(parents=True, exist_ok=True)
    inputs = []
    for path in sorted(kit.samples.glob("*.png")):
        rgb = read_image(path).pixels[..., :3]
        rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
        target = jpeg_dir / f"{path.stem}.jpg"
        target.write_bytes(jpeg_file(np.ascontiguousarray(rgb), DEMO_QUALITY))
        inputs.append((target, rgb))
    code = kit.run("dejpeg", jpeg_dir, clean_dir, "--overwrite")
    if code == 0:
        print(f"PSNR against the samples (JPEG quality {DEMO_QUALITY}, 4:2:0):")
        for jpeg, rgb in inputs:
            before = psnr(read_image(jpeg).pixels, rgb)
            after = psnr(read_image(clean_dir / f"{jpeg.stem}.png").pixels, rgb)
            print(f"  {jpeg.name:<16} JPEG {before:5.2f} dB -> dejpeg {after:5.2f} dB")
        print(f"inputs: {jpeg_dir}\nresults: {clean_dir}")
    return code
