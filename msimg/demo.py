"""`make demo`: add seeded noise to the bundled sample photos, denoise them with the msimg command as a
user would, and say where the results are and how much cleaner they got."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from msimg.io.read import read_image
from msimg.io.write import write_image
from msimg.metrics import psnr

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
OUT = ROOT / "demo-output"
SIGMA = 25


def make_noisy(folder: Path) -> list[Path]:
    """Seeded Gaussian noise (sigma 25 of 255), clipped to 8 bits as a real file is."""
    rng = np.random.default_rng(0)
    made = []
    for path in sorted(SAMPLES.glob("*.png")):
        image = read_image(path)
        noisy = image.pixels.astype(np.float32) + rng.normal(0, SIGMA, image.pixels.shape)
        target = folder / path.name
        write_image(target, type(image)(np.clip(noisy, 0, 255).round().astype(np.uint8), image.meta), "png")
        made.append(target)
    return made


def main() -> int:
    noisy_dir, clean_dir = OUT / "noisy", OUT / "denoised"
    inputs = make_noisy(noisy_dir)
    cmd = [sys.executable, "-m", "msimg", "denoise", str(noisy_dir), "-o", str(clean_dir), "--overwrite"]
    print("$ msimg denoise", noisy_dir.relative_to(ROOT), "-o", clean_dir.relative_to(ROOT), "--overwrite")
    code = subprocess.call(cmd)
    if code != 0:
        return code
    print(f"\nPSNR against the clean samples (noise sigma {SIGMA}, --sigma auto):")
    for noisy in inputs:
        ref = read_image(SAMPLES / noisy.name).pixels
        before, after = (
            psnr(read_image(noisy).pixels, ref),
            psnr(read_image(clean_dir / noisy.name).pixels, ref),
        )
        print(f"  {noisy.name:<16} noisy {before:5.2f} dB -> denoised {after:5.2f} dB")
    print(f"\nnoisy inputs: {noisy_dir}\nresults:      {clean_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
