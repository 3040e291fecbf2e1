"""`make demo`: degrade the bundled sample photos, restore them with the msimg command as a user would,
and say where the results are and how much better they got. Each task whose model is shipped takes part."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from msimg.io.image import Image
from msimg.io.read import read_image
from msimg.io.write import write_image
from msimg.metrics import psnr
from msimg.models.weights import load_manifest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SIGMA = 25
SCALE = 4
KERNEL = "motion:15,30"
HAZE = 1.5  # beta over a made-up depth of 0-1: the far end keeps 22 % of the scene


def add_noise(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seeded Gaussian noise (sigma 25 of 255), clipped to 8 bits as a real file is."""
    return np.clip(px.astype(np.float32) + rng.normal(0, SIGMA, px.shape), 0, 255).round().astype(np.uint8)


def shrink(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1/4-size copy (area averaging), the input a user would want enlarged."""
    h, w = px.shape[0] // SCALE, px.shape[1] // SCALE
    small = cv2.resize(px[: h * SCALE, : w * SCALE], (w, h), interpolation=cv2.INTER_AREA)
    return small.reshape(h, w, -1)


def add_blur(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera shake (a 15-pixel motion at 30 degrees) and noise of 1/255, as in the benchmark."""
    from benchmarks.bench import blurred_copy

    return blurred_copy(px, KERNEL, int(rng.integers(1 << 30)))


def add_haze(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Haze from the scattering model over a made-up depth, as in the benchmark."""
    from benchmarks.bench import hazed_u8

    return hazed_u8(px, HAZE, int(rng.integers(1 << 30)))


def degrade(folder: Path, how: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> list[Path]:
    rng = np.random.default_rng(0)
    made = []
    for path in sorted(SAMPLES.glob("*.png")):
        image = read_image(path)
        target = folder / path.name
        write_image(target, Image(how(image.pixels, rng), image.meta), "png")
        made.append(target)
    return made


def run(task: str, inputs: Path, out: Path, *options: str) -> int:
    print(f"\n$ msimg {task} {os.path.relpath(inputs)} -o {os.path.relpath(out)} {' '.join(options)}")
    return subprocess.call([sys.executable, "-m", "msimg", task, str(inputs), "-o", str(out), *options])


def demo_denoise(out: Path) -> int:
    noisy_dir, clean_dir = out / "noisy", out / "denoised"
    inputs = degrade(noisy_dir, add_noise)
    code = run("denoise", noisy_dir, clean_dir, "--overwrite")
    if code == 0:
        print(f"PSNR against the clean samples (noise sigma {SIGMA}, --sigma auto):")
        for noisy in inputs:
            ref = read_image(SAMPLES / noisy.name).pixels
            before, after = (
                psnr(read_image(noisy).pixels, ref),
                psnr(read_image(clean_dir / noisy.name).pixels, ref),
            )
            print(f"  {noisy.name:<16} noisy {before:5.2f} dB -> denoised {after:5.2f} dB")
        print(f"inputs: {noisy_dir}\nresults: {clean_dir}")
    return code


def demo_super_resolve(out: Path) -> int:
    small_dir, large_dir = out / "small", out / "super-resolved"
    inputs = degrade(small_dir, shrink)
    code = run("super-resolve", small_dir, large_dir, "--scale", str(SCALE), "--overwrite")
    if code == 0:
        print(f"PSNR against the original samples (x{SCALE}), against a bicubic enlargement:")
        for small in inputs:
            ref, lr = read_image(SAMPLES / small.name).pixels, read_image(small).pixels
            h, w = lr.shape[0] * SCALE, lr.shape[1] * SCALE
            bicubic = cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, -1)
            ours = read_image(large_dir / small.name).pixels
            print(
                f"  {small.name:<16} bicubic {psnr(bicubic, ref[:h, :w]):5.2f} dB -> msimg "
                f"{psnr(ours, ref[:h, :w]):5.2f} dB"
            )
        print(f"inputs: {small_dir}\nresults: {large_dir}")
    return code


def report(inputs: list[Path], results: dict[str, Path], what: str) -> None:
    """PSNR of the degraded inputs and of each result folder against the clean samples."""
    print(f"PSNR against the clean samples ({what}):")
    for degraded in inputs:
        ref = read_image(SAMPLES / degraded.name).pixels
        scores = [f"input {psnr(read_image(degraded).pixels, ref):5.2f} dB"]
        scores += [
            f"{name} {psnr(read_image(d / degraded.name).pixels, ref):5.2f} dB" for name, d in results.items()
        ]
        print(f"  {degraded.name:<16} " + " -> ".join(scores[:1]) + ", " + ", ".join(scores[1:]))


def demo_deblur(out: Path) -> int:
    blurred_dir, blind_dir, known_dir = out / "blurred", out / "deblurred", out / "deblurred-known-kernel"
    inputs = degrade(blurred_dir, add_blur)
    code = max(
        run("deblur", blurred_dir, blind_dir, "--overwrite"),
        run("deblur", blurred_dir, known_dir, "--kernel", KERNEL, "--overwrite"),
    )
    if code == 0:
        report(inputs, {"blind": blind_dir, "--kernel": known_dir}, f"blur {KERNEL}")
        print(f"inputs: {blurred_dir}\nresults: {blind_dir}, {known_dir}")
    return code


def demo_dehaze(out: Path) -> int:
    hazy_dir, clear_dir = out / "hazy", out / "dehazed"
    inputs = degrade(hazy_dir, add_haze)
    method = "net" if "dehaze-gunet" in load_manifest() else "dcp"
    code = run("dehaze", hazy_dir, clear_dir, "--method", method, "--overwrite")
    if code == 0:
        report(inputs, {f"--method {method}": clear_dir}, f"synthetic haze, beta {HAZE}")
        print(f"inputs: {hazy_dir}\nresults: {clear_dir}")
    return code


def demo_demosaic(out: Path) -> int:
    """Each sample as a HybridEVS frame in the MIPI challenge's .bin layout (width and height, then the
    10-bit samples): Quad-Bayer with event holes, sampled from the sRGB photo as the challenge's are, so
    the defaults (quad-bayer-evs, display-referred) fit it."""
    from benchmarks.bench import raw_frame

    raw_dir, rgb_dir = out / "raw", out / "demosaiced"
    raw_dir.mkdir(parents=True, exist_ok=True)
    frames = []
    for path in sorted(SAMPLES.glob("*.png")):
        rgb = read_image(path).pixels[..., :3]
        rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
        raw = raw_frame(rgb, "quad-bayer-evs", "srgb")
        target = raw_dir / f"{path.stem}.bin"
        np.concatenate([np.array(raw.shape[::-1], np.uint16), raw.ravel()]).astype("<u2").tofile(target)
        frames.append((target, rgb))
    method = "net" if "demosaic-swin" in load_manifest() else "classic"
    options = ("--method", method, "--output-depth", "8", "--overwrite")
    code = run("demosaic", raw_dir, rgb_dir, *options)
    if code == 0:
        print(f"PSNR of --method {method} against the samples (10-bit HybridEVS frames, event pixels 0):")
        for frame, rgb in frames:
            print(f"  {frame.name:<16} {psnr(read_image(rgb_dir / f'{frame.stem}.png').pixels, rgb):5.2f} dB")
        print(f"inputs: {raw_dir}\nresults: {rgb_dir}")
    return code


def demo_segment(out: Path) -> int:
    """The samples split into 12 regions each, drawn over the photo."""
    drawn = out / "segmented"
    method = "net" if "segment-boundary" in load_manifest() else "felzenszwalb"
    options = ("--method", method, "--format", "overlay", "--overwrite")
    code = run("segment", SAMPLES, drawn, *options, *(("--segments", "12") if method == "net" else ()))
    if code == 0:
        print(f"region borders drawn over the samples: {drawn}")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="where to write (demo-output)")
    out = parser.parse_args().out
    shipped = {entry["task"] for entry in load_manifest().values()}
    demos = [
        ("denoise", demo_denoise),
        ("super-resolve", demo_super_resolve),
        ("deblur", demo_deblur),
        ("dehaze", demo_dehaze),
        ("demosaic", demo_demosaic),
        ("segment", demo_segment),
    ]
    codes = [demo(out) for task, demo in demos if task in shipped]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
